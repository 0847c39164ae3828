"""``uio-agent quickstart``: the whole loop on the embedded suite, on a CPU, in about twenty minutes.

1. collect oracle demonstrations of a few tabletop tasks (Minari datasets, parallel workers);
2. train a from-scratch UIO-2 ``small`` network on them for a bounded time;
3. evaluate the trained policy, a random policy and the oracle with VIMA-Bench's protocol;
4. write a report folder: ``report.md`` (the table), ``eval/<policy>/eval_info.json``, ``loss_curve.png``
   and a few videos of the trained policy, and print the table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from PIL import Image, ImageDraw

from uio_agent.data.episode import Episode


@dataclass
class QuickstartConfig:
    out: str = "runs/quickstart"
    tasks: list[str] = field(default_factory=lambda: ["visual_manipulation", "rotate"])
    level: str = "L1"
    #: fewer scenes are memorised within the training budget (benchmarks/RESULTS.md: 1,000 gave 83% of
    #: training picks and 16% of new ones); collection costs about a minute per thousand on two cores
    demos_per_task: int = 2000
    #: where the oracle's suction cup picks: "interior" (the deepest pixel of the object's mask, one
    #: point per object) gives labels a network learns from faster than VIMA's random mask pixel
    #: ("sample"); evaluation runs the environments as VIMA-Bench does either way
    oracle_pick_point: str = "interior"
    workers: int = 2
    eval_episodes: int = 50
    videos: int = 2
    #: the training recipe, ``configs/recipe/<name>.yaml``
    recipe: str = "cpu_quickstart"
    #: TrainConfig options over the recipe's
    train: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from uio_agent.envs.tabletop.oracle import PickPoint

        choices = sorted(get_args(PickPoint))
        if self.oracle_pick_point not in choices:
            raise ValueError(
                f"oracle_pick_point must be {' or '.join(map(repr, choices))}, got {self.oracle_pick_point!r}"
            )


def _env_names(config: QuickstartConfig) -> list[str]:
    return [f"tabletop/{task}@{config.level}" for task in config.tasks]


def run(config: QuickstartConfig) -> dict[str, Any]:
    from uio_agent.agent.build import build_policy
    from uio_agent.agent.collect import collect
    from uio_agent.agent.evaluate import EvalConfig, evaluate
    from uio_agent.agent.policy import Policy, UIOPolicy
    from uio_agent.configs import recipe
    from uio_agent.data.reader import EpisodeDataset
    from uio_agent.train.loop import TrainConfig, Trainer

    out = Path(config.out)
    names = _env_names(config)
    print(
        f"[1/3] collecting {config.demos_per_task} oracle demonstrations of each of {', '.join(config.tasks)}"
    )
    episodes: list[Episode] = []
    for name in names:
        folder = out / "demos" / name.split("/")[1].split("@")[0]
        collect(
            name,
            "oracle",
            config.demos_per_task,
            config.workers,
            str(folder),
            env_kwargs={"oracle_pick_point": config.oracle_pick_point},
        )
        episodes.extend(EpisodeDataset(folder))
    print(f"[2/3] training on {len(episodes)} episodes")
    train_options = recipe(config.recipe)
    train_options.update(config.train, out=str(out / "train"))
    final = Trainer(TrainConfig(**train_options), episodes).run()
    draw_loss_curve(out / "train" / "metrics.jsonl", out / "loss_curve.png")
    print("[3/3] evaluating the trained policy, a random policy and the oracle")
    env = ",".join(names)
    results: dict[str, Any] = {}
    for label in ("random", "trained", "oracle"):
        policy: Policy
        if label == "trained":
            policy, oracle = UIOPolicy.from_pretrained(final), False
        else:
            policy, oracle = build_policy(label, names[0])
        videos = config.videos if label == "trained" else 0
        eval_config = EvalConfig(
            env=env,
            out=str(out / "eval" / label),
            policy=label,
            episodes=config.eval_episodes,
            workers=config.workers,
            videos=videos,
        )
        results[label] = evaluate(eval_config, policy, oracle=oracle, policy_name=label)
    report = format_report(results)
    (out / "report.md").write_text(report + "\n")
    print(report)
    return results


def format_report(results: Mapping[str, Mapping[str, Any]]) -> str:
    """Tasks as rows, policies as columns (success % with 95% intervals), plus the trained policy's diagnostics."""
    labels = list(results)
    tasks = sorted(next(iter(results.values()))["per_task"])
    lines = ["| task | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    for task in tasks:
        cells = []
        for label in labels:
            m = results[label]["per_task"][task]
            lo, hi = m["success_ci95"]
            cells.append(f"{100 * m['success_rate']:.0f}% [{100 * lo:.0f}, {100 * hi:.0f}]")
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    if "trained" in results:
        m = results["trained"]["overall"]
        diag = {k: m[k] for k in ("pick_hit_rate", "correct_object_rate", "mean_place_error") if k in m}
        lines.append("")
        lines.append("trained policy diagnostics: " + json.dumps({k: round(v, 3) for k, v in diag.items()}))
        lines.append("failure reasons: " + json.dumps(m.get("failure_reasons", {})))
    return "\n".join(lines)


def draw_loss_curve(metrics: Path, png: Path, size: tuple[int, int] = (640, 360)) -> None:
    """A plain line plot of the training loss against steps (PIL; no plotting library needed)."""
    points = [(r["step"], r["loss"]) for r in map(json.loads, metrics.read_text().splitlines())]
    if len(points) < 2:
        return
    width, height = size
    margin = 40
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    steps = [p[0] for p in points]
    losses = [p[1] for p in points]
    lo, hi = min(losses), max(losses)
    scale_x = (width - 2 * margin) / max(1, max(steps) - min(steps))
    scale_y = (height - 2 * margin) / max(1e-9, hi - lo)
    xy = [(margin + (s - min(steps)) * scale_x, height - margin - (v - lo) * scale_y) for s, v in points]
    draw.rectangle([margin, margin, width - margin, height - margin], outline="black")
    draw.line(xy, fill=(30, 90, 200), width=2)
    draw.text(
        (margin, 10),
        f"training loss: {losses[0]:.2f} -> {losses[-1]:.2f} over {steps[-1]} steps",
        fill="black",
    )
    draw.text((margin, height - margin + 8), f"step {min(steps)}", fill="black")
    draw.text((width - margin - 60, height - margin + 8), f"step {max(steps)}", fill="black")
    draw.text((4, margin), f"{hi:.2f}", fill="black")
    draw.text((4, height - margin - 10), f"{lo:.2f}", fill="black")
    png.parent.mkdir(parents=True, exist_ok=True)
    image.save(png)
