"""Training throughput with packing vs batches padded to their longest member, side by side.

The model is the CPU quickstart recipe's; the embodied mix has the lengths our codecs produce with it
(measured with the project tokenizer):

* VIMA (half of the examples): one of the 13 L1 tasks, with its prompt length (7-42 tokens: the
  recipe leaves the instruction out) and prompt images (1-8, as image history), the observation as
  the image input, and a plan of 1-16 steps (mostly 1-2) as target: 18 tokens a step and EOS, one
  more per two-digit step number.
* PointNav and ObjectNav (a quarter each): one action of 2-3 tokens as target, the image input, and
  the last min(t, 4) steps as history frames and history text (59 / 67 prompt tokens and ~8 per
  entry), t uniform over an 85-step episode.

Both modes run the same batches of the same examples, forward + backward under bf16 autocast, timed
alternately batch by batch (the order flips every batch) and repeated, so load on a shared machine
hits both alike; the gain is the median over repeats of the per-repeat ratio. Throughput counts
valid encoder + decoder tokens. Packing can gain at most 1 / (1 - padding fraction of the padded run).

    python benchmarks/bench_packing.py --threads 1   # on a machine whose cores other jobs share
    python benchmarks/bench_packing.py --threads 2 --repeats 7
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time
from datetime import date

import torch

from uio_agent.configs import recipe
from uio_agent.model import ModelInputs, UIOConfig, UIOModel
from uio_agent.train.examples import Example, collate
from uio_agent.train.objectives import TextObjective
from uio_agent.train.packing import packed_logits

#: (prompt tokens without the instruction, prompt images) of the 13 VIMA L1 tasks
VIMA_PROMPTS = [
    (11, 3), (11, 1), (18, 1), (9, 2), (39, 6), (29, 8), (21, 2),
    (11, 3), (7, 1), (22, 2), (17, 3), (12, 1), (14, 1),
]  # fmt: skip
#: plan lengths: most VIMA plans are 1-2 steps, a few long ones up to 16
VIMA_PLAN_STEPS = [1] * 8 + [2] * 6 + [3] * 3 + [4] * 2 + [6, 8, 12, 16]
NAV_HISTORY = 4
NAV_EPISODE_STEPS = 85


def vima_target_length(steps: int) -> int:
    return 18 * steps + 1 + max(0, steps - 9)


def embodied_mix(config: UIOConfig, count: int, seed: int = 0) -> list[Example]:
    rng = random.Random(seed)
    g = torch.Generator().manual_seed(seed)
    rows, cols = config.image_input_grid
    history_patches = config.image_history_grid[0] * config.image_history_grid[1]
    out = []
    for k in range(count):
        kind = rng.choices(["vima", "pointnav", "objectnav"], weights=[2, 1, 1])[0]
        if kind == "vima":
            text, frames = rng.choice(VIMA_PROMPTS)
            target = vima_target_length(rng.choice(VIMA_PLAN_STEPS))
        else:
            frames = min(rng.randrange(NAV_EPISODE_STEPS), NAV_HISTORY)
            text = (59 if kind == "pointnav" else 67) + 8 * frames
            target = rng.randint(2, 3)
        inputs = ModelInputs(
            text_tokens=torch.randint(3, 3000, (1, text), generator=g),
            image_patches=torch.randn(1, rows * cols, config.patch_dim, generator=g),
            image_history_patches=torch.randn(1, frames, history_patches, config.patch_dim, generator=g)
            if frames
            else None,
        )
        target_ids = [rng.randrange(3, 3000) for _ in range(target - 1)] + [1]
        out.append(Example(inputs, target_ids, (kind, k, 0)))
    return out


def encoder_length(example: Example, config: UIOConfig) -> int:
    inputs = example.inputs
    frames = 0 if inputs.image_history_patches is None else inputs.image_history_patches.shape[1]
    assert inputs.image_patches is not None
    return (
        inputs.text_tokens.shape[1]
        + inputs.image_patches.shape[1]
        + frames * config.image_history.latents_size
    )


def train_step(
    model: UIOModel, examples: list[Example], packed: bool, objective: TextObjective
) -> tuple[float, float]:
    """Wall-clock and process CPU seconds of one forward + backward."""
    start, cpu = time.perf_counter(), time.process_time()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        if packed:
            logits, targets = packed_logits(model, examples, objective.vocab)
        else:
            batch = collate(examples)
            logits, targets = model(batch, vocab=objective.vocab)["text"], batch.targets
    assert targets.target_tokens is not None and targets.mask is not None
    objective(logits, targets.target_tokens, targets.mask).loss.backward()
    model.zero_grad(set_to_none=True)
    return time.perf_counter() - start, time.process_time() - cpu


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
    examples = embodied_mix(config, args.batches * args.batch_size)
    batches = [examples[i : i + args.batch_size] for i in range(0, len(examples), args.batch_size)]

    valid = padded_tokens = 0
    for batch in batches:
        enc = [encoder_length(e, config) for e in batch]
        dec = [e.decoder_length for e in batch]
        valid += sum(enc) + sum(dec)
        padded_tokens += len(batch) * (max(enc) + max(dec))
    padding = 1.0 - valid / padded_tokens
    bound = 1.0 / (1.0 - padding)

    load_before = os.getloadavg()[0]
    for packed in (False, True):  # warm-up: bf16 kernels, allocator
        train_step(model, batches[0], packed, objective)
    # rates[clock][packed]: valid tokens per second of each repeat
    rates = {clock: {False: [], True: []} for clock in ("wall", "cpu")}
    for repeat in range(args.repeats):
        seconds = {(clock, packed): 0.0 for clock in ("wall", "cpu") for packed in (False, True)}
        for index, batch in enumerate(batches):
            first = (repeat + index) % 2 == 1
            for packed in (first, not first):
                wall, cpu = train_step(model, batch, packed, objective)
                seconds["wall", packed] += wall
                seconds["cpu", packed] += cpu
        for (clock, packed), total in seconds.items():
            rates[clock][packed].append(valid / total)

    print(f"# bench_packing — {date.today()} — {platform.machine()}, {args.threads} threads, bf16 autocast")
    print(
        f"# {len(examples)} examples of the embodied mix in batches of {args.batch_size}, CPU quickstart "
        f"model, {args.repeats} repeats; load average {load_before:.1f} at start, {os.getloadavg()[0]:.1f} at end"
    )
    print("| run | padding fraction | valid tokens/s, wall clock | valid tokens/s, process CPU time |")
    print("|---|---|---|---|")
    for packed, name, pad in (
        (False, "padded to batch max", padding),
        (True, "packed (one row per batch)", 0.0),
    ):
        wall, cpu = (statistics.median(rates[clock][packed]) for clock in ("wall", "cpu"))
        print(f"| {name} | {pad:.2f} | {wall:.0f} | {cpu:.0f} |")
    print(f"bound 1/(1 - padding) = {bound:.2f}x")
    for clock in ("wall", "cpu"):
        gains = [p / q for p, q in zip(rates[clock][True], rates[clock][False], strict=True)]
        gain = statistics.median(gains)
        print(
            f"{clock}: gain {gain:.2f}x (repeats {', '.join(f'{g:.2f}' for g in gains)}), "
            f"{gain / bound:.2f} of the bound"
        )


if __name__ == "__main__":
    main()
