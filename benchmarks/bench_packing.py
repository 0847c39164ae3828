"""Training throughput with dynamic packing vs batches padded to their longest member.

An embodied mix with the length spread of the suite: VIMA-style examples (a 128-patch observation,
0-8 prompt images of 16 latents each, 45-95 prompt tokens, plans of 1-8 steps = 19-145 target
tokens) and navigation-style ones (8 history frames, short prompts, 2-6 target tokens). Both runs see
the same examples; throughput counts valid (non-padding) encoder + decoder tokens per second of
forward + backward. Packing can gain at most 1 / (1 - padding fraction) of the padded run.

    python benchmarks/bench_packing.py --batches 6 --batch-size 16
"""

from __future__ import annotations

import argparse
import platform
import random
import time
from datetime import date

import torch

from uio_agent.configs import recipe
from uio_agent.model import ModelInputs, UIOConfig, UIOModel
from uio_agent.train.examples import Example, collate
from uio_agent.train.objectives import TextObjective
from uio_agent.train.packing import packed_logits, pair_examples


def embodied_mix(config: UIOConfig, count: int, seed: int = 0) -> list[Example]:
    rng = random.Random(seed)
    g = torch.Generator().manual_seed(seed)
    rows, cols = config.image_input_grid
    hist = config.image_history_grid[0] * config.image_history_grid[1]
    out = []
    for k in range(count):
        navigation = rng.random() < 0.3
        frames = 8 if navigation else rng.choice([0, 1, 2, 2, 3, 4, 6, 8])
        text = rng.randint(20, 40) if navigation else rng.randint(45, 95)
        steps = 0 if navigation else rng.choice([1, 1, 1, 2, 2, 3, 4, 5, 8])
        target = rng.randint(2, 6) if navigation else 18 * steps + 1
        inputs = ModelInputs(
            text_tokens=torch.randint(3, 3000, (1, text), generator=g),
            image_patches=torch.randn(1, rows * cols, config.patch_dim, generator=g),
            image_history_patches=torch.randn(1, frames, hist, config.patch_dim, generator=g)
            if frames
            else None,
        )
        out.append(Example(inputs, [rng.randrange(3, 3000) for _ in range(target - 1)] + [1], ("mix", k, 0)))
    return out


def run(model: UIOModel, batches: list[list[Example]], packed: bool, vocab: torch.Tensor) -> dict[str, float]:
    objective = TextObjective(vocab)
    valid_tokens = 0
    padded_tokens = 0
    seconds = 0.0
    for examples in batches:
        with torch.no_grad():
            seq = model.embed_inputs(collate(examples).inputs)
        enc_lengths = [int(seq.mask[i].sum()) for i in range(len(examples))]
        dec_lengths = [e.decoder_length for e in examples]
        valid_tokens += sum(enc_lengths) + sum(dec_lengths)
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            if packed:
                groups = pair_examples(list(zip(enc_lengths, dec_lengths, strict=True)), 864, 1280)
                logits, targets = packed_logits(model, examples, groups, vocab)
                enc_width = max(sum(enc_lengths[i] for i in g) for g in groups)
                dec_width = max(sum(dec_lengths[i] for i in g) for g in groups)
                padded_tokens += len(groups) * (enc_width + dec_width)
            else:
                batch = collate(examples)
                logits = model(batch, vocab=vocab)["text"]
                targets = batch.targets
                padded_tokens += len(examples) * (max(enc_lengths) + max(dec_lengths))
        assert targets.target_tokens is not None and targets.mask is not None
        objective(logits, targets.target_tokens, targets.mask).loss.backward()
        seconds += time.perf_counter() - start
        model.zero_grad(set_to_none=True)
    return {
        "tokens_per_s": valid_tokens / seconds,
        "padding_fraction": 1.0 - valid_tokens / padded_tokens,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = UIOConfig.preset("small", **recipe("cpu_quickstart")["model"])
    model = UIOModel(config).train()
    vocab = torch.arange(0, 3300)  # a generable-vocabulary-sized head
    examples = embodied_mix(config, args.batches * args.batch_size)
    batches = [examples[i : i + args.batch_size] for i in range(0, len(examples), args.batch_size)]
    run(model, batches[:1], packed=False, vocab=vocab)  # warm-up (bf16 kernels)
    run(model, batches[:1], packed=True, vocab=vocab)
    padded = run(model, batches, packed=False, vocab=vocab)
    packed = run(model, batches, packed=True, vocab=vocab)
    bound = 1.0 / (1.0 - padded["padding_fraction"])
    gain = packed["tokens_per_s"] / padded["tokens_per_s"]
    print(f"# bench_packing — {date.today()} — {platform.machine()}, {args.threads} threads, bf16 autocast")
    print(
        f"# {len(examples)} examples of the embodied mix, batches of {args.batch_size}, CPU quickstart model"
    )
    print("| run | valid tokens/s | padding fraction |")
    print("|---|---|---|")
    print(f"| padded to batch max | {padded['tokens_per_s']:.0f} | {padded['padding_fraction']:.2f} |")
    print(f"| packed (pairs, pool 10) | {packed['tokens_per_s']:.0f} | {packed['padding_fraction']:.2f} |")
    print(
        f"gain {gain:.2f}x; bound 1/(1 - padding) = {bound:.2f}x; fraction of bound reached {gain / bound:.2f}"
    )


if __name__ == "__main__":
    main()
