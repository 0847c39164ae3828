"""Navigation benchmark: PointNav and ObjectNav render speed (1 and 2 processes), memory per env,
oracle and random-policy quality. Prints a table and appends it to benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/bench_nav.py                # everything, ~8-10 min on 2 cores
    .venv/bin/python benchmarks/bench_nav.py --tasks objectnav --episodes 100
    .venv/bin/python benchmarks/bench_nav.py --steps 300 --episodes 20 --no-append
"""

from __future__ import annotations

import argparse
import datetime
import multiprocessing as mp
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

SENSOR_SETS = {"RGB": ("rgb",), "RGB-D": ("rgb", "depth")}


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


#: the actions a speed run draws from: every motion, never the episode-ending one
MOTIONS = {"pointnav": (1, 2, 3), "objectnav": (0, 1, 2, 4, 5)}


def make_nav_env(task: str, sensors: tuple[str, ...] = ("rgb", "depth")) -> Any:
    """PointNav at 256x256 with ``sensors``, or ObjectNav at its default 320x240 (RGB, depth and the
    segmentation pass that visibility needs)."""
    if task == "pointnav":
        from uio_agent.envs.nav.pointnav import PointNavEnv

        return PointNavEnv(sensors=sensors)
    from uio_agent.envs.nav.objectnav import ObjectNavEnv

    return ObjectNavEnv()


def steps_per_second(task: str, sensors: tuple[str, ...], steps: int, seed: int = 0) -> float:
    """Random motions; resets are excluded from the timing."""
    env = make_nav_env(task, sensors)
    rng = np.random.default_rng(seed)
    motions = MOTIONS[task]
    env.reset(seed=seed)
    for _ in range(10):  # warm-up
        env.step(int(rng.choice(motions)))
    elapsed, done_steps = 0.0, 0
    while done_steps < steps:
        t = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(int(rng.choice(motions)))
        elapsed += time.perf_counter() - t
        done_steps += 1
        if terminated or truncated:
            env.reset(seed=seed + done_steps)
    env.close()
    return done_steps / elapsed


def _worker(args: tuple[str, tuple[str, ...], int, int]) -> float:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    return steps_per_second(*args)


def memory_per_env(task: str) -> tuple[float, float]:
    """(MB for the first env incl. GL context, MB for each further env) after a reset."""
    base = rss_mb()
    envs = [make_nav_env(task)]
    envs[0].reset(seed=0)
    first = rss_mb() - base
    mid = rss_mb()
    for k in range(1, 4):
        envs.append(make_nav_env(task))
        envs[-1].reset(seed=k)
    further = (rss_mb() - mid) / 3
    for env in envs:
        env.close()
    return first, further


def objectnav_quality(policy: str, episodes: int, preset: str) -> dict[str, float]:
    """Oracle, or random policies: ``random`` walks uniformly over the five motion actions and calls End
    once a target-type object is visible (privileged, like habitat's RandomAgent stopping in reach);
    ``random-uniform6`` draws all six actions, End included."""
    from uio_agent.envs.nav.objectnav import ObjectNavEnv

    env = ObjectNavEnv(split="val", preset=preset)
    rng = np.random.default_rng(1)
    rows = []
    for seed in range(episodes):
        _, info = env.reset(seed=seed, options={"oracle": policy == "oracle"})
        done = False
        while not done:
            if policy == "oracle":
                action = info["oracle_action"]
            elif policy == "random":
                seen = any(v["objectType"] == info["object_type"] for v in info["visible_objects"])
                action = 3 if seen else int(rng.choice([0, 1, 2, 4, 5]))
            else:
                action = int(rng.integers(0, 6))
            _, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
        rows.append((info["success"], info["spl"], info["distance_to_target"], info["episode_length"]))
    env.close()
    a = np.array(rows, dtype=np.float64)
    return {
        "success": a[:, 0].mean(),
        "spl": a[:, 1].mean(),
        "distance_to_target": a[:, 2].mean(),
        "steps": a[:, 3].mean(),
    }


def policy_quality(policy: str, episodes: int, preset: str) -> dict[str, float]:
    from uio_agent.envs.nav.pointnav import PointNavEnv

    env = PointNavEnv(sensors=(), split="val", preset=preset)
    rng = np.random.default_rng(1)
    rows = []
    for seed in range(episodes):
        obs, info = env.reset(seed=seed, options={"oracle": policy == "oracle"})
        done = False
        while not done:
            if policy == "oracle":
                action = info["oracle_action"]
            elif policy == "random":  # habitat_baselines RandomAgent: STOP once the goal sensor says in reach
                reached = obs["pointgoal_with_gps_compass"][0] < env.config.embodiment.success_distance
                action = 0 if reached else int(rng.integers(1, 4))
            else:  # uniform over all four actions, STOP included
                action = int(rng.integers(0, 4))
            obs, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
        rows.append(
            (info["success"], info["spl"], info["soft_spl"], info["distance_to_goal"], info["elapsed_steps"])
        )
    a = np.array(rows, dtype=np.float64)
    return {
        "success": a[:, 0].mean(),
        "spl": a[:, 1].mean(),
        "soft_spl": a[:, 2].mean(),
        "distance_to_goal": a[:, 3].mean(),
        "steps": a[:, 4].mean(),
    }


def pointnav_rows(args: argparse.Namespace, ctx: Any) -> list[str]:
    lines = []
    for label, sensors in SENSOR_SETS.items():
        with ctx.Pool(1) as pool:  # fresh process, like one worker
            single = pool.map(_worker, [("pointnav", sensors, args.steps, 0)])[0]
        with ctx.Pool(2) as pool:
            pair = pool.map(
                _worker, [("pointnav", sensors, args.steps, 0), ("pointnav", sensors, args.steps, 100)]
            )
        lines.append(f"| {label} 256x256 steps/s, 1 process | {single:.0f} |")
        lines.append(
            f"| {label} 256x256 steps/s, 2 processes (each / total) | {pair[0]:.0f} + {pair[1]:.0f} = {sum(pair):.0f} |"
        )
        print(lines[-2], lines[-1], sep="\n", flush=True)
    with ctx.Pool(1) as pool:
        first, further = pool.apply(memory_per_env, ("pointnav",))
    lines.append(f"| memory, first RGB-D env incl. GL context (MB) | {first:.0f} |")
    lines.append(f"| memory, each further RGB-D env (MB) | {further:.0f} |")
    for preset, policy in (
        ("benchmark", "oracle"),
        ("benchmark", "random"),
        ("benchmark", "random-uniform4"),
        ("locobot", "oracle"),
        ("locobot", "random"),
    ):
        q = policy_quality(policy, args.episodes, preset)
        lines.append(
            f"| {preset}: {policy} policy, {args.episodes} val episodes: success / SPL / SoftSPL / "
            f"final distance (m) / steps | {q['success']:.3f} / {q['spl']:.3f} / {q['soft_spl']:.3f} / "
            f"{q['distance_to_goal']:.2f} / {q['steps']:.0f} |"
        )
        print(lines[-1], flush=True)
    return lines


def objectnav_rows(args: argparse.Namespace, ctx: Any) -> list[str]:
    lines = []
    with ctx.Pool(1) as pool:
        single = pool.map(_worker, [("objectnav", (), args.steps, 0)])[0]
    with ctx.Pool(2) as pool:
        pair = pool.map(_worker, [("objectnav", (), args.steps, 0), ("objectnav", (), args.steps, 100)])
    lines.append(f"| ObjectNav 320x240 RGB-D + segmentation steps/s, 1 process | {single:.0f} |")
    lines.append(
        f"| ObjectNav 320x240 steps/s, 2 processes (each / total) | {pair[0]:.0f} + {pair[1]:.0f} = {sum(pair):.0f} |"
    )
    print(lines[-2], lines[-1], sep="\n", flush=True)
    with ctx.Pool(1) as pool:
        first, further = pool.apply(memory_per_env, ("objectnav",))
    lines.append(f"| ObjectNav memory, first env incl. GL context (MB) | {first:.0f} |")
    lines.append(f"| ObjectNav memory, each further env (MB) | {further:.0f} |")
    for preset, policy in (
        ("procthor", "oracle"),
        ("procthor", "random"),
        ("procthor", "random-uniform6"),
        ("locobot", "oracle"),
    ):
        q = objectnav_quality(policy, args.episodes, preset)
        lines.append(
            f"| ObjectNav {preset}: {policy} policy, {args.episodes} val episodes: success / SPL / "
            f"distance to target (m) / steps | {q['success']:.3f} / {q['spl']:.3f} / "
            f"{q['distance_to_target']:.2f} / {q['steps']:.0f} |"
        )
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=1000, help="timed steps per measurement")
    parser.add_argument("--episodes", type=int, default=100, help="episodes for oracle / random figures")
    parser.add_argument("--no-append", action="store_true", help="do not append to benchmarks/RESULTS.md")
    parser.add_argument(
        "--tasks", nargs="+", choices=["pointnav", "objectnav"], default=["pointnav", "objectnav"]
    )
    args = parser.parse_args()

    load_start = os.getloadavg()[0]
    lines = ["| measurement | value |", "|---|---|"]
    ctx = mp.get_context("spawn")
    if "pointnav" in args.tasks:
        lines += pointnav_rows(args, ctx)
    if "objectnav" in args.tasks:
        lines += objectnav_rows(args, ctx)

    from uio_agent.envs.nav.render import GL_BACKEND

    header = (
        f"\n## bench_nav ({datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC)\n\n"
        f"`{' '.join([Path(sys.executable).name, *sys.argv])}` — {platform.machine()}, {os.cpu_count()} CPUs, "
        f"MUJOCO_GL={GL_BACKEND}, LP_NUM_THREADS={os.environ.get('LP_NUM_THREADS')}, Python {platform.python_version()}, "
        f"load average at start/end {load_start:.1f}/{os.getloadavg()[0]:.1f} (a shared machine inflates times)\n\n"
    )
    text = header + "\n".join(lines) + "\n"
    print(text)
    if not args.no_append:
        with open(Path(__file__).with_name("RESULTS.md"), "a") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
