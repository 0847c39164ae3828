"""CPU training step with attention written out (the default on CPU) vs SDPA's fused CPU kernels.

``model/layers.dot_product_attention`` computes ``softmax(q k^T * scale + bias) v`` itself on the
devices in ``EXPLICIT_ATTENTION_DEVICES`` and calls ``F.scaled_dot_product_attention`` elsewhere.
This runs the CPU quickstart recipe's network on batches shaped like its visual_manipulation
examples (a 9-token prompt, the 128-patch top view, two 32-px prompt crops as history frames, a
19-token plan) forward + backward under bf16 autocast, both ways, alternating batch by batch (the
order flips every batch) so load on a shared machine hits both alike. The gain is the median over
repeats of the per-repeat ratio.

    python benchmarks/bench_attention.py --threads 2 --repeats 5
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from datetime import date

import torch

from uio_agent.configs import recipe
from uio_agent.model import Batch, ModelInputs, TextTargets, UIOConfig, UIOModel, layers
from uio_agent.train.objectives import TextObjective

PROMPT_TOKENS = 9
PROMPT_FRAMES = 2
PLAN_TOKENS = 19


def vm_batch(config: UIOConfig, size: int, seed: int) -> Batch:
    g = torch.Generator().manual_seed(seed)
    rows, cols = config.image_input_grid
    history = config.image_history_grid[0] * config.image_history_grid[1]
    inputs = ModelInputs(
        text_tokens=torch.randint(3, 3000, (size, PROMPT_TOKENS), generator=g),
        image_patches=torch.randn(size, rows * cols, config.patch_dim, generator=g),
        image_history_patches=torch.randn(size, PROMPT_FRAMES, history, config.patch_dim, generator=g),
    )
    targets = TextTargets.from_targets(torch.randint(3, 3000, (size, PLAN_TOKENS), generator=g))
    return Batch(inputs, targets)


def train_step(model: UIOModel, batch: Batch, explicit: bool, objective: TextObjective) -> float:
    """Wall-clock seconds of one forward + backward."""
    layers.EXPLICIT_ATTENTION_DEVICES = ("cpu",) if explicit else ()
    start = time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(batch, vocab=objective.vocab)["text"]
    targets = batch.targets
    assert targets.target_tokens is not None and targets.mask is not None
    objective(logits, targets.target_tokens, targets.mask).loss.backward()
    model.zero_grad(set_to_none=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    options = recipe("cpu_quickstart")
    config = UIOConfig.preset(options["preset"], **options["model"])
    model = UIOModel(config).train()
    objective = TextObjective(torch.arange(0, 3300))  # a generable-vocabulary-sized head
    batches = [vm_batch(config, args.batch_size, seed) for seed in range(args.batches)]
    default = layers.EXPLICIT_ATTENTION_DEVICES

    load_before = os.getloadavg()[0]
    for explicit in (False, True):  # warm-up: bf16 kernels, allocator
        train_step(model, batches[0], explicit, objective)
    seconds: dict[bool, list[float]] = {False: [], True: []}
    for repeat in range(args.repeats):
        total = {False: 0.0, True: 0.0}
        for index, batch in enumerate(batches):
            first = (repeat + index) % 2 == 1
            for explicit in (first, not first):
                total[explicit] += train_step(model, batch, explicit, objective)
        for explicit, value in total.items():
            seconds[explicit].append(value / len(batches))
    layers.EXPLICIT_ATTENTION_DEVICES = default

    print(f"# bench_attention — {date.today()} — {platform.machine()}, {args.threads} threads, bf16 autocast")
    print(
        f"# CPU quickstart model, {args.batches} batches of {args.batch_size} visual_manipulation-shaped "
        f"examples, {args.repeats} repeats; load average {load_before:.1f} at start, "
        f"{os.getloadavg()[0]:.1f} at end"
    )
    print("| attention | seconds per forward + backward (median) | examples/s |")
    print("|---|---|---|")
    for explicit, name in ((False, "F.scaled_dot_product_attention"), (True, "written out (CPU default)")):
        step = statistics.median(seconds[explicit])
        print(f"| {name} | {step:.3f} | {args.batch_size / step:.1f} |")
    gains = [s / e for s, e in zip(seconds[False], seconds[True], strict=True)]
    print(f"gain {statistics.median(gains):.2f}x (repeats {', '.join(f'{g:.2f}' for g in gains)})")


if __name__ == "__main__":
    main()
