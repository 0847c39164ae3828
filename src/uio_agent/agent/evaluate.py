"""Evaluation with VIMA-Bench's protocol: levels x tasks, seeded episodes, success rates with intervals.

``evaluate(EvalConfig(...))`` expands an environment name (``tabletop@L1`` = every task of level 1,
``tabletop`` = every level; several names separated by commas), runs ``episodes`` seeded episodes of each, and writes into ``out``:

* ``eval_info.json`` (the contract of DESIGN.md): overall, per-level and per-task success rates in
  [0, 1] with Wilson 95% intervals, diagnostics, the resolved config, versions and renderer;
* ``episodes.jsonl``: one line per episode (env, seed, success, failure reason, steps, plan count);
* ``videos/`` (optional): H.264 mp4s of the first episodes, prompt shown.

Evaluation seeds start at 1,000,000 by default, disjoint from collection seeds (which start at 0).
A failing episode — unparsable plan, prompt over the image limit, simulator exception — is recorded
as a failure with its reason; the evaluation goes on.
"""

from __future__ import annotations

import dataclasses
import json
import math
import platform
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from uio_agent.agent.policy import Policy
from uio_agent.agent.rollout import EpisodeResult, run_episodes
from uio_agent.envs.names import LEVEL_SHORT, EnvName
from uio_agent.envs.registry import expand_env_name

EVAL_SEED_OFFSET = 1_000_000
#: the per-level key of environments without levels (navigation)
NO_LEVEL = "all"


@dataclass
class EvalConfig:
    env: str
    out: str
    policy: str = "oracle"
    episodes: int = 100
    workers: int = 1
    seed: int = EVAL_SEED_OFFSET
    videos: int = 0
    #: keyword options of ``make_env`` for every environment (e.g. ``max_episode_steps``, ``preset``)
    env_kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.episodes < 1:
            raise ValueError(f"episodes must be >= 1, got {self.episodes}")
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if self.videos < 0:
            raise ValueError(f"videos must be >= 0, got {self.videos}")


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score 95% interval of a success rate (sensible at 0% and 100%, unlike the normal one)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def summarize(results: Iterable[EpisodeResult]) -> dict[str, Any]:
    """``M`` of the contract: episodes, success_rate, success_ci95, tabletop pick/place diagnostics, and
    navigation's ``spl``/``soft_spl``/``distance_to_goal``/``distance_to_target`` (:func:`navigation_summary`)."""
    items = list(results)
    n = len(items)
    wins = sum(r.success for r in items)
    lo, hi = wilson_interval(wins, n)
    summary: dict[str, Any] = {
        "episodes": n,
        "success_rate": wins / n if n else 0.0,
        "success_ci95": [lo, hi],
        "mean_steps": sum(r.steps for r in items) / n if n else 0.0,
        "mean_plans": sum(r.plans for r in items) / n if n else 0.0,
    }
    picks = [info for r in items for info in r.step_infos if "picked_obj_id" in info]
    if picks:
        summary["pick_hit_rate"] = sum(info["picked_obj_id"] is not None for info in picks) / len(picks)
    correct = [
        info["picked_correct_object"]
        for r in items
        for info in r.step_infos
        if "picked_correct_object" in info
    ]
    if correct:
        summary["correct_object_rate"] = sum(bool(c) for c in correct) / len(correct)
    errors = [
        info["place_error"] for r in items for info in r.step_infos if info.get("place_error") is not None
    ]
    if errors:
        summary["mean_place_error"] = sum(errors) / len(errors)
    summary.update(navigation_summary(items))
    reasons: dict[str, int] = defaultdict(int)
    for r in items:
        if r.failure_reason:
            reasons[r.failure_reason.splitlines()[0][:80]] += 1
    summary["failure_reasons"] = dict(sorted(reasons.items(), key=lambda kv: -kv[1]))
    return summary


def mean_interval(values: Sequence[float], z: float = 1.959964) -> tuple[float, float]:
    """Normal-approximation 95% interval of a mean (sample standard deviation; a point for n < 2)."""
    n = len(values)
    if n == 0:
        return (0.0, 0.0)
    mean = sum(values) / n
    if n < 2:
        return (mean, mean)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return (mean - z * sd / math.sqrt(n), mean + z * sd / math.sqrt(n))


#: per-episode distance metrics of the navigation suites (PointNav's goal point, ObjectNav's target)
DISTANCE_KEYS = ("distance_to_goal", "distance_to_target")


def navigation_summary(items: Sequence[EpisodeResult]) -> dict[str, Any]:
    """``spl``, ``soft_spl`` (PointNav) and the distance to the goal (``distance_to_goal``, PointNav) or
    target (``distance_to_target``, ObjectNav): means with 95% intervals from each episode's last info.

    Only for navigation results (some episode reports ``spl``); a metric appears when some episode
    reports it. An episode that ended before its first step (reset error, the policy could not act)
    counts as SPL = SoftSPL = 0 and has no distance; an SPL the environment could not compute (NaN:
    no shortest path to the target) is left out of the SPL mean.
    """
    finals = [next((i for i in reversed(r.step_infos) if "spl" in i), None) for r in items]
    if not any(f is not None for f in finals):
        return {}
    out: dict[str, Any] = {}
    for key in ("spl", "soft_spl"):
        if not any(f is not None and key in f for f in finals):
            continue
        values = [float(f[key]) if f is not None else 0.0 for f in finals]
        values = [v for v in values if math.isfinite(v)]
        lo, hi = mean_interval(values)
        out[key] = sum(values) / len(values) if values else 0.0
        out[f"{key}_ci95"] = [max(0.0, lo), min(1.0, hi)]
    for key in DISTANCE_KEYS:
        distances = [
            float(f[key]) for f in finals if f is not None and math.isfinite(float(f.get(key, math.nan)))
        ]
        if distances:
            lo, hi = mean_interval(distances)
            out[key] = sum(distances) / len(distances)
            out[f"{key}_ci95"] = [max(0.0, lo), hi]
            out[f"{key}_episodes"] = len(distances)
    return out


def _versions() -> dict[str, str]:
    import gymnasium
    import mujoco
    import numpy
    import torch

    from uio_agent import __version__

    return {
        "uio_agent": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "gymnasium": gymnasium.__version__,
        "mujoco": mujoco.__version__,
    }


def _renderer() -> str:
    import os

    return f"mujoco/{os.environ.get('MUJOCO_GL', 'default')}"


def format_table(
    per_task: Mapping[str, Mapping[str, Any]], per_level: Mapping[str, Mapping[str, Any]]
) -> str:
    """Tasks as rows, levels as columns, success in percent; the last row averages tasks per level.

    Navigation results (with ``spl``) get one row per environment: success, SPL, and SoftSPL and the
    distance to the goal or target where reported, each with its 95% interval."""
    if per_task and all("spl" in m for m in per_task.values()):
        return _navigation_table(per_task)
    levels = list(per_level)
    tasks = sorted({key.split("@")[0] for key in per_task})
    header = "| task | " + " | ".join(LEVEL_SHORT.get(lv, lv) for lv in levels) + " |"
    lines = [header, "|---" * (len(levels) + 1) + "|"]
    for task in tasks:
        cells = []
        for level in levels:
            m = per_task.get(task if level == NO_LEVEL else f"{task}@{LEVEL_SHORT.get(level, level)}")
            cells.append(f"{100 * m['success_rate']:.1f}" if m else "–")
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    lines.append(
        "| **level mean** | "
        + " | ".join(f"**{100 * per_level[lv]['task_mean']:.1f}**" for lv in levels)
        + " |"
    )
    return "\n".join(lines)


def _navigation_table(per_task: Mapping[str, Mapping[str, Any]]) -> str:
    def cell(m: Mapping[str, Any], key: str, ci: str, scale: float, digits: int) -> str:
        if key not in m:
            return "–"
        lo, hi = m[ci]
        return f"{scale * m[key]:.{digits}f} [{scale * lo:.{digits}f}, {scale * hi:.{digits}f}]"

    metrics = list(per_task.values())
    columns = [("success_rate", "success %", 100.0, 1), ("spl", "SPL", 1.0, 3)]
    if any("soft_spl" in m for m in metrics):
        columns.append(("soft_spl", "SoftSPL", 1.0, 3))
    for key in DISTANCE_KEYS:
        if any(key in m for m in metrics):
            columns.append((key, f"{key.replace('_', ' ')} (m)", 1.0, 2))
    lines = [
        "| env | episodes | " + " | ".join(title for _, title, _, _ in columns) + " |",
        "|---" * (len(columns) + 2) + "|",
    ]
    for task, m in per_task.items():
        ci = {key: "success_ci95" if key == "success_rate" else f"{key}_ci95" for key, _, _, _ in columns}
        cells = [cell(m, key, ci[key], scale, digits) for key, _, scale, digits in columns]
        lines.append(f"| {task} | {m['episodes']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def evaluate(
    config: EvalConfig, policy: Policy, *, oracle: bool = False, policy_name: str | None = None
) -> dict[str, Any]:
    """Run the protocol and write the outputs; returns the ``eval_info`` dict."""
    names = [name for part in config.env.split(",") for name in expand_env_name(part.strip())]
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = [config.seed + k for k in range(config.episodes)]
    by_name: dict[str, list[EpisodeResult]] = {}
    video_budget = config.videos
    episodes_path = out / "episodes.jsonl"
    tmp_episodes = episodes_path.with_suffix(".jsonl.tmp")
    with tmp_episodes.open("w") as log, tqdm(total=len(names) * len(seeds), desc="eval", unit="ep") as bar:
        for name in names:
            key = str(name)
            results = []
            record = min(video_budget, len(seeds))
            for result in run_episodes(
                key,
                policy,
                seeds,
                workers=config.workers,
                oracle=oracle,
                env_kwargs=config.env_kwargs,
                record_frames=record,
            ):
                results.append(result)
                log.write(json.dumps(_episode_line(result)) + "\n")
                log.flush()
                if result.frames:
                    from uio_agent.agent.video import write_episode_video

                    write_episode_video(out / "videos" / f"{key.replace('/', '_')}_{result.seed}.mp4", result)
                bar.update(1)
                bar.set_postfix_str(f"{key} {sum(r.success for r in results)}/{len(results)}")
            video_budget -= record
            by_name[key] = sorted(results, key=lambda r: r.index)
    tmp_episodes.replace(episodes_path)
    info = _eval_info(config, names, by_name, policy_name or config.policy)
    tmp = out / "eval_info.json.tmp"
    tmp.write_text(json.dumps(info, indent=1))
    tmp.replace(out / "eval_info.json")
    return info


def _episode_line(result: EpisodeResult) -> dict[str, Any]:
    return {
        "env": result.env_name,
        "seed": result.seed,
        "success": result.success,
        "failure_reason": result.failure_reason,
        "steps": result.steps,
        "plans": result.plans,
        "prompt": result.prompt,
    }


def _eval_info(
    config: EvalConfig, names: list[EnvName], by_name: Mapping[str, list[EpisodeResult]], policy_name: str
) -> dict[str, Any]:
    per_task = {
        str(EnvName(n.suite, n.task, n.level)).split("/", 1)[-1]: summarize(by_name[str(n)]) for n in names
    }
    levels: dict[str, list[EnvName]] = defaultdict(list)
    for n in names:
        levels[n.level or NO_LEVEL].append(n)
    per_level = {}
    for level, members in levels.items():
        m = summarize(r for n in members for r in by_name[str(n)])
        m["task_mean"] = sum(summarize(by_name[str(n)])["success_rate"] for n in members) / len(members)
        per_level[level] = m
    overall = summarize(r for results in by_name.values() for r in results)
    overall["level_mean"] = sum(m["task_mean"] for m in per_level.values()) / len(per_level)
    return {
        "env": config.env,
        "policy": policy_name,
        "config": dataclasses.asdict(config),
        "versions": _versions(),
        "renderer": _renderer(),
        "overall": overall,
        "per_level": per_level,
        "per_task": per_task,
    }
