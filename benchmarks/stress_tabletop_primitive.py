"""Stress test of the primitives: N suction pick-and-place trials across every shape and base, and
M spatula pushes of a small block (see ``uio_agent.envs.tabletop.stress``).

Shapes and bases cycle so each (shape, base) pair gets the same share of trials; poses, sizes,
textures, pick pixels and target yaws come from one seeded generator. Acceptance: >= 99.5 %.

    .venv/bin/python benchmarks/stress_tabletop_primitive.py --trials 1000 --push-trials 1000 --seed 0
"""

from __future__ import annotations

import argparse
import collections
import time

import numpy as np

from uio_agent.envs.tabletop.stress import (
    STRESS_BASES,
    STRESS_DRAGGED,
    push_world,
    run_push_trial,
    run_trial,
    stress_world,
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--push-trials", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.push_trials:
        push_stress(args.push_trials, args.seed)
    world = stress_world()
    rng = np.random.default_rng(args.seed)
    by_shape: dict[str, list[bool]] = collections.defaultdict(list)
    by_base: dict[str, list[bool]] = collections.defaultdict(list)
    failures = []
    t0 = time.perf_counter()
    for i in range(args.trials):
        shape = STRESS_DRAGGED[i % len(STRESS_DRAGGED)]
        base = STRESS_BASES[(i // len(STRESS_DRAGGED)) % len(STRESS_BASES)]
        result = run_trial(world, rng, shape, base)
        by_shape[shape].append(result.success)
        by_base[base].append(result.success)
        if not result.success:
            failures.append(result)
    elapsed = time.perf_counter() - t0
    total = sum(sum(v) for v in by_shape.values())
    print(
        f"pick-and-place stress: {total}/{args.trials} = {100 * total / args.trials:.2f} % in {elapsed:.0f} s"
    )
    print("\n| shape | success |\n|---|---|")
    for shape in STRESS_DRAGGED:
        ok = by_shape[shape]
        print(f"| {shape} | {sum(ok)}/{len(ok)} |")
    print("\n| base | success |\n|---|---|")
    for base in STRESS_BASES:
        ok = by_base[base]
        print(f"| {base} | {sum(ok)}/{len(ok)} |")
    for f in failures:
        print(
            f"FAIL {f.dragged} -> {f.base}: picked={f.picked} err={f.position_error:.3f} m "
            f"yaw={np.degrees(f.yaw_error):.1f} deg tilt={np.degrees(f.tilt):.1f} deg"
        )


def push_stress(trials: int, seed: int) -> None:
    world = push_world()
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    results = [run_push_trial(world, rng) for _ in range(trials)]
    ok = sum(r.success for r in results)
    along = np.array([r.along_error for r in results])
    lateral = np.array([r.lateral_error for r in results])
    print(f"push stress: {ok}/{trials} = {100 * ok / trials:.2f} % in {time.perf_counter() - t0:.0f} s")
    print(
        f"end point vs target along the push (cm): 5/50/95 % = "
        f"{np.percentile(along, 5) * 100:.1f} / {np.median(along) * 100:.1f} / {np.percentile(along, 95) * 100:.1f}; "
        f"off the line: median {np.median(lateral) * 100:.2f} cm, max {lateral.max() * 100:.2f} cm\n"
    )


if __name__ == "__main__":
    main()
