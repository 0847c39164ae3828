"""Speed and quality of the embedded VIMA-Bench (``tabletop``) against the real one.

Per task and level: env construction, median reset (prompt assets included) and step time with
oracle actions, oracle success over seeded episodes, random-policy success, peak memory; ratios to
VIMA-Bench's 2-core CPU timings of that task (reference §11). When VIMA-Bench is installed (in this
interpreter, or in another one named by ``--vima-python`` / ``$UIO_AGENT_VIMA_PYTHON``), it is timed
side by side on the same seeds with the same oracle, and the ratios use those measurements.

    .venv/bin/python benchmarks/bench_tabletop.py --episodes 100 [--level L1|...|all] [--tasks ...]
        [--vima-python PY] [--vima-episodes 10] [--results benchmarks/RESULTS.md]

``--level all`` runs every task at every level it belongs to (the side-by-side run then uses each
task's first level only).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import os
import platform
import resource
import statistics
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from uio_agent.envs.names import LEVEL_ALIASES
from uio_agent.envs.tabletop import ALL_TASKS, PARTITION_TO_SPECS, make

VIMA_STEP_S = 0.40
VIMA_RESET_S = 0.68
#: Reference §11: VIMA-Bench's median reset and step seconds per task (2-core CPU, with rendering).
VIMA_TASK_S = {
    "visual_manipulation": (0.77, 0.44),
    "scene_understanding": (1.05, 0.46),
    "rotate": (0.52, 0.54),
    "rearrange": (0.77, 0.47),
    "rearrange_then_restore": (1.18, 0.67),
    "novel_adj": (0.75, 0.43),
    "novel_noun": (0.56, 0.42),
    "novel_adj_and_noun": (1.09, 0.46),
    "twist": (0.81, 0.45),
    "follow_motion": (0.39, 0.46),
    "follow_order": (0.49, 0.41),
    "sweep_without_exceeding": (0.27, 0.29),
    "sweep_without_touching": (0.50, 0.39),
    "same_texture": (0.82, 0.58),
    "same_shape": (0.80, 0.45),
    "manipulate_old_neighbor": (0.35, 0.41),
    "pick_in_order_then_restore": (0.36, 0.42),
}


@dataclass
class TaskFigures:
    task: str
    make_s: float = 0.0
    reset_s: list[float] = field(default_factory=list)
    step_s: list[float] = field(default_factory=list)
    reset_cpu_s: list[float] = field(default_factory=list)
    step_cpu_s: list[float] = field(default_factory=list)
    oracle_success: int = 0
    random_success: int = 0
    episodes: int = 0
    oracle_steps: list[int] = field(default_factory=list)


def run_task(task: str, level: str, episodes: int, seed0: int) -> TaskFigures:
    kwargs = PARTITION_TO_SPECS["test"][level][task]
    t0 = time.perf_counter()
    env = make(task, task_kwargs=kwargs)
    figures = TaskFigures(task, make_s=time.perf_counter() - t0, episodes=episodes)
    for seed in range(seed0, seed0 + episodes):
        t0, c0 = time.perf_counter(), time.process_time()
        obs, info = env.reset(seed=seed, options={"oracle": True})
        figures.reset_s.append(time.perf_counter() - t0)
        figures.reset_cpu_s.append(time.process_time() - c0)
        oracle = env.oracle()
        steps = 0
        for _ in range(env.task.oracle_max_steps):
            action = oracle.act(obs)
            if action is None:
                break
            t0, c0 = time.perf_counter(), time.process_time()
            obs, _, terminated, truncated, info = env.step(action)
            figures.step_s.append(time.perf_counter() - t0)
            figures.step_cpu_s.append(time.process_time() - c0)
            steps += 1
            if terminated or truncated:
                break
        figures.oracle_success += bool(info["success"])
        figures.oracle_steps.append(steps)
        # Random policy: uniform actions in the action space, the evaluation's step budget.
        env.reset(seed=seed)
        env.action_space.seed(seed)
        for _ in range(env.max_episode_steps):
            _, _, terminated, truncated, info = env.step(env.action_space.sample())
            if terminated or truncated:
                break
        figures.random_success += bool(info["success"])
    env.close()
    return figures


def vima_side_by_side(
    task: str, level: str, episodes: int, seed0: int, python: str | None
) -> tuple[float, float]:
    """Median (reset, step) seconds of the real VIMA-Bench on the same seeds, through the
    out-of-process adapter (``python``: an interpreter with ``vima_bench``; None: in-process)."""
    from uio_agent.envs import make_env

    env = make_env(f"vima_bench/{task}@{level}", **({"python": python} if python else {}))
    resets, steps = [], []
    for seed in range(seed0, seed0 + episodes):
        t0 = time.perf_counter()
        obs, _ = env.reset(seed=seed, options={"oracle": True})
        resets.append(time.perf_counter() - t0)
        oracle = env.task.oracle(env)
        for _ in range(env.task.oracle_max_steps):
            action = oracle.act(obs)
            if action is None:
                break
            t0 = time.perf_counter()
            obs, _, terminated, truncated, _ = env.step(action)
            steps.append(time.perf_counter() - t0)
            if terminated or truncated:
                break
    env.close()
    return statistics.median(resets), statistics.median(steps)


def vima_available(python: str | None) -> bool:
    return python is not None or importlib.util.find_spec("vima_bench") is not None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--level", default="L1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tasks", nargs="*", default=None, help="short task names (default: all 17)")
    parser.add_argument("--results", default=None, help="append a markdown section to this file")
    parser.add_argument(
        "--vima-python",
        default=os.environ.get("UIO_AGENT_VIMA_PYTHON"),
        help="interpreter with vima_bench installed, for a side-by-side run (default: $UIO_AGENT_VIMA_PYTHON)",
    )
    parser.add_argument("--vima-episodes", type=int, default=10)
    args = parser.parse_args()
    levels = (
        list(PARTITION_TO_SPECS["test"])
        if args.level == "all"
        else [LEVEL_ALIASES.get(args.level, args.level)]
    )
    short = {v: k for k, v in LEVEL_ALIASES.items() if k.startswith("L")}
    wanted = args.tasks or [key.split("/")[1] for key in ALL_TASKS]
    unknown = set(wanted) - {key.split("/")[1] for key in ALL_TASKS}
    if unknown:
        parser.error(f"unknown tasks {sorted(unknown)}")

    rows = []
    timed_real: set[str] = set()
    for level in levels:
        for task in [t for t in wanted if t in PARTITION_TO_SPECS["test"][level]]:
            f = run_task(task, level, args.episodes, args.seed)
            reset, step = statistics.median(f.reset_s), statistics.median(f.step_s)
            reset_cpu, step_cpu = statistics.median(f.reset_cpu_s), statistics.median(f.step_cpu_s)
            ref_reset, ref_step = VIMA_TASK_S[task]
            real_text = "-"
            if vima_available(args.vima_python) and task not in timed_real:
                timed_real.add(task)
                ref_reset, ref_step = vima_side_by_side(
                    task, level, args.vima_episodes, args.seed, args.vima_python
                )
                real_text = f"{ref_reset:.3f} / {ref_step:.3f} ({args.vima_episodes} ep.)"
            rows.append(
                f"| {task} | {short.get(level, level)} | {f.oracle_success}/{f.episodes} "
                f"| {f.random_success}/{f.episodes} | {np.mean(f.oracle_steps):.2f} | {f.make_s:.2f} "
                f"| {reset * 1e3:.1f} / {reset_cpu * 1e3:.1f} | {step * 1e3:.1f} / {step_cpu * 1e3:.1f} "
                f"| {real_text} | {ref_reset / reset:.0f}x | {ref_step / step:.1f}x |"
            )
            print(rows[-1], flush=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    header = (
        "| task | level | oracle success | random success | oracle steps | make s | reset ms wall / CPU (median) "
        "| step ms wall / CPU (median) | real VIMA-Bench here: reset / step s | reset ratio | step ratio |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|"
    )
    command = "python benchmarks/bench_tabletop.py " + " ".join(sys.argv[1:])
    load = os.getloadavg()[0]
    machine = f"{platform.machine()} {platform.processor() or ''} python {platform.python_version()}".strip()
    text = (
        f"\n## tabletop (embedded VIMA-Bench), {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC\n\n"
        f"`{command}` on {machine} ({os.cpu_count()} CPUs, load average {load:.1f} at the end), "
        f"peak RSS {peak_mb:.0f} MB. Ratios: VIMA-Bench's median wall time over ours, measured side by side "
        f"where a real-VIMA column is filled, else the reference §11 figures of the task.\n\n"
        f"{header}\n" + "\n".join(rows) + "\n"
    )
    print(text)
    if args.results:
        with open(args.results, "a", encoding="utf-8") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
