"""The ``uio-agent`` command: one subcommand per job, each importing what it needs lazily.

Arguments are hydra-style ``key=value`` overrides. Subcommands arrive with the capabilities they
drive (``collect``, ``train``, ``eval``, ``quickstart``); ``model`` describes a network preset.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence


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


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {"model": model_command}


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
