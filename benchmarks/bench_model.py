"""Speed and memory of the UIO-2 network on CPU for a VIMA-like request.

The request of ``reference/uio2-architecture.md``: 64 text tokens, one image input, 4 history frames,
48 new tokens (greedy). Each preset runs in its own subprocess (fp32, ``torch.set_num_threads``) so
peak RSS is per preset. Side by side in the same process: our decoding (static self-attention cache,
cross-attention K/V computed once) and the official port's algorithm (cross-attention K/V recomputed
from the encoder output in every layer at every step), built from the same modules and weights.

    python benchmarks/bench_model.py --presets tiny small large --threads 2
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import date

import torch

from uio_agent.model import ModelInputs, UIOConfig, UIOModel
from uio_agent.model.generate import generate
from uio_agent.model.layers import mask_to_bias

TEXT_TOKENS = 64
FRAMES = 4
NEW_TOKENS = 48


def request(config: UIOConfig) -> ModelInputs:
    g = torch.Generator().manual_seed(0)
    rows, cols = config.image_input_grid
    hrows, hcols = config.image_history_grid
    tokens = torch.randint(3, 32000, (1, TEXT_TOKENS), generator=g)
    tokens[0, -1] = 1
    return ModelInputs(
        text_tokens=tokens,
        image_patches=torch.randn(1, rows * cols, config.patch_dim, generator=g),
        image_history_patches=torch.randn(1, FRAMES, hrows * hcols, config.patch_dim, generator=g),
    )


@torch.no_grad()
def port_style_decode(model: UIOModel, inputs: ModelInputs, steps: int) -> float:
    """Greedy decoding that recomputes cross-attention K/V every step (the PyTorch port's algorithm).
    Returns seconds per token."""
    encoded = model.encode(inputs)
    from uio_agent.model.transformer import KVCache

    cache = KVCache.allocate(model.config, 1, steps, encoded.hidden.dtype, encoded.hidden.device)
    cross_bias = mask_to_bias(encoded.mask[:, None, :].bool())
    token = torch.zeros(1, 1, dtype=torch.long)
    start = time.perf_counter()
    for position in range(steps):
        cross_kv = model.cross_keys_values(encoded)  # recomputed at every step, as the port does
        logits = model.decode_step(token, position, cross_kv, cross_bias, cache)
        token = logits.argmax(-1, keepdim=True)
    return (time.perf_counter() - start) / steps


@torch.no_grad()
def measure(preset: str, threads: int, repeats: int) -> dict[str, object]:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    config = UIOConfig.preset(preset)
    model = UIOModel(config).eval()
    inputs = request(config)
    model.encode(inputs)  # warm-up (allocations, RoPE tables, position-table resize)
    encode_times = []
    for _ in range(repeats):
        start = time.perf_counter()
        encoded = model.encode(inputs)
        encode_times.append(time.perf_counter() - start)
    decode_times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = generate(
            model, inputs, max_new_tokens=NEW_TOKENS, encoded=encoded, banned_tokens=eos_ban(config)
        )
        decode_times.append((time.perf_counter() - start) / result.tokens.shape[1])
    port = port_style_decode(model, inputs, min(NEW_TOKENS, 16))
    return {
        "preset": preset,
        "parameters": model.num_parameters(),
        "encoder_tokens": int(encoded.hidden.shape[1]),
        "encode_s": statistics.median(encode_times),
        "ms_per_token": 1000 * statistics.median(decode_times),
        "port_style_ms_per_token": 1000 * port,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def eos_ban(config: UIOConfig) -> torch.Tensor:
    """Ban EOS so every run decodes exactly NEW_TOKENS tokens with random weights."""
    banned = torch.zeros(config.vocab_size, dtype=torch.bool)
    banned[1] = True
    return banned


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--presets", nargs="+", default=["tiny", "small", "large"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.threads, args.repeats)))
        return
    rows = []
    for preset in args.presets:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                preset,
                "--threads",
                str(args.threads),
                "--repeats",
                str(args.repeats),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(
        f"# bench_model — {date.today()} — {platform.processor() or platform.machine()}, {args.threads} threads, fp32"
    )
    print(
        f"# request: {TEXT_TOKENS} text tokens, image input, {FRAMES} history frames, {NEW_TOKENS} new tokens (greedy)"
    )
    print(
        "| preset | params | encoder tokens | encode (s) | ms/token | port-style ms/token | speed-up | peak RSS (MB) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        speedup = r["port_style_ms_per_token"] / r["ms_per_token"]
        print(
            f"| {r['preset']} | {r['parameters'] / 1e6:.1f}M | {r['encoder_tokens']} | {r['encode_s']:.3f} | "
            f"{r['ms_per_token']:.1f} | {r['port_style_ms_per_token']:.1f} | {speedup:.1f}x | {r['peak_rss_mb']:.0f} |"
        )


if __name__ == "__main__":
    main()
