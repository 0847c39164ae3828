"""The ``uio-agent`` command: one subcommand per job, each importing what it needs lazily.

Arguments are hydra-style ``key=value`` overrides. Subcommands arrive with the capabilities they
drive (``collect``, ``train``, ``eval``, ``quickstart``); ``model`` describes a network preset.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from uio_agent.configs import compose


def _parse_overrides(args: Sequence[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep or not key:
            raise SystemExit(f"uio-agent: expected key=value, got {arg!r}")
        values[key] = value
    return values


def model_command(args: Sequence[str]) -> int:
    """``uio-agent model preset=large``: parameter counts per group, built on the meta device."""
    import torch

    from uio_agent.model import UIOConfig, UIOModel

    options = _parse_overrides(args)
    unknown = set(options) - {"preset"}
    if unknown:
        raise SystemExit(
            f"uio-agent model: unknown options {sorted(unknown)}; usage: uio-agent model preset=NAME"
        )
    config = UIOConfig.preset(options.get("preset", "large"))
    with torch.device("meta"):
        model = UIOModel(config)
    groups = {
        "text embedding": "text_token_embedder.",
        "image input (ViT + projection)": "input_embedders.image.",
        "image history (resampler + projections)": "input_embedders.image_history.",
        "encoder": "encoder.",
        "decoder": "decoder.",
    }
    print(
        f"preset {options.get('preset', 'large')}: d_model {config.emb_dim}, "
        f"{config.num_encoder_layers}+{config.num_decoder_layers} layers, {config.num_heads} heads"
    )
    for label, prefix in groups.items():
        print(f"  {label:42s} {model.num_parameters(prefix):>15,d}")
    print(f"  {'encoder layer':42s} {model.num_parameters('encoder.layers_0.'):>15,d}")
    print(f"  {'decoder layer':42s} {model.num_parameters('decoder.layers_0.'):>15,d}")
    print(f"  {'total':42s} {model.num_parameters():>15,d}")
    return 0


def _save_config(out: str, config: dict[str, Any]) -> None:
    import yaml

    path = Path(out)
    path.mkdir(parents=True, exist_ok=True)
    tmp = path / "config.yaml.tmp"
    tmp.write_text(yaml.safe_dump(config, sort_keys=False))
    tmp.replace(path / "config.yaml")


def eval_command(args: Sequence[str]) -> int:
    """``uio-agent eval env=tabletop@L1 policy=oracle episodes=100 workers=2 out=DIR``: VIMA's protocol."""
    from uio_agent.agent.build import build_policy
    from uio_agent.agent.evaluate import EvalConfig, evaluate, format_table

    options = compose("eval", args)
    _save_config(options["out"], options)
    policy, oracle = build_policy(
        options["policy"],
        options["env"],
        replan=options["replan"],
        generation=options["generation"],
        device=options["device"],
    )
    config = EvalConfig(
        env=options["env"],
        out=options["out"],
        policy=options["policy"],
        episodes=options["episodes"],
        workers=options["workers"],
        seed=options["seed"],
        videos=options["videos"],
        env_kwargs=options["env_kwargs"],
    )
    info = evaluate(config, policy, oracle=oracle)
    print(format_table(info["per_task"], info["per_level"]))
    overall = info["overall"]
    lo, hi = overall["success_ci95"]
    print(
        f"overall: {100 * overall['success_rate']:.1f}% success over {overall['episodes']} episodes "
        f"(95% CI {100 * lo:.1f}-{100 * hi:.1f}); results in {options['out']}"
    )
    return 0


def collect_command(args: Sequence[str]) -> int:
    """``uio-agent collect env=tabletop@L1 policy=oracle episodes=N workers=K out=DIR``: record episodes."""
    from uio_agent.agent.collect import collect_main

    options = compose("collect", args)
    _save_config(options["out"], options)
    return collect_main(options)


def train_command(args: Sequence[str]) -> int:
    """``uio-agent train dataset=DIR out=DIR preset=small steps=N``: train UIO-2 on recorded episodes."""
    from uio_agent.train.families import load_episodes
    from uio_agent.train.loop import TrainConfig, Trainer

    options = compose("train", args)
    _save_config(options["out"], options)
    episodes = load_episodes(options.pop("dataset"))
    final = Trainer(TrainConfig(**options), episodes).run()
    print(f"trained on {len(episodes)} episodes; final checkpoint {final}")
    return 0


def quickstart_command(args: Sequence[str]) -> int:
    """``uio-agent quickstart [out=DIR]``: collect, train and evaluate on the embedded suite (~20 min CPU)."""
    from uio_agent.quickstart import QuickstartConfig, run

    options = compose("quickstart", args)
    _save_config(options["out"], options)
    run(QuickstartConfig(**options))
    return 0


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "quickstart": quickstart_command,
    "model": model_command,
    "collect": collect_command,
    "train": train_command,
    "eval": eval_command,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print("usage: uio-agent COMMAND [key=value ...]\ncommands:")
        for name, command in COMMANDS.items():
            print(f"  {name:12s} {(command.__doc__ or '').strip().splitlines()[0]}")
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        raise SystemExit(f"uio-agent: unknown command {name!r}; commands: {', '.join(COMMANDS)}")
    return COMMANDS[name](rest)


if __name__ == "__main__":
    raise SystemExit(main())
