"""Cost of acting with a UIO-2 policy, and evaluation throughput with 1 vs 2 simulator workers.

* ms per plan (one model call: encode + constrained greedy decoding of a whole plan) and ms per act
  (a step served from the cached plan) for untrained ``tiny`` and the CPU ``small`` recipe, on real
  tabletop observations;
* evaluation episodes per minute of ``tabletop/visual_manipulation@L1`` with the tiny policy and with
  the oracle, 1 and 2 workers, in the same run.

    python benchmarks/bench_policy.py --plans 5 --episodes 8
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from datetime import date

import torch

from uio_agent.agent.evaluate import EvalConfig, evaluate
from uio_agent.agent.policy import OraclePolicy, Policy, UIOPolicy
from uio_agent.codecs.vima import VimaCodec, VimaCodecConfig
from uio_agent.configs import recipe
from uio_agent.envs import make_env
from uio_agent.model import PreprocessConfig, UIOConfig, UIOModel

ENV = "tabletop/visual_manipulation@L1"


def uio_policy(preset: str) -> UIOPolicy:
    torch.manual_seed(0)
    overrides = recipe("cpu_quickstart")["model"] if preset == "small" else {}
    config = UIOConfig.preset(preset, **overrides)
    codec = VimaCodec(
        preprocess=PreprocessConfig.from_model_config(config),
        config=VimaCodecConfig(
            observation_layout="top" if preset == "small" else "front_over_top", max_steps=4
        ),
    )
    return UIOPolicy(UIOModel(config), codec)


def time_acting(policy: UIOPolicy, plans: int) -> tuple[float, float]:
    env = make_env(ENV)
    plan_ms, act_ms = [], []
    for seed in range(plans):
        obs, info = env.reset(seed=seed)
        policy.reset(info)
        start = time.perf_counter()
        action = policy.act(obs, info)
        plan_ms.append(1000 * (time.perf_counter() - start))
        # an untrained model often plans one step: time the cached path on a three-step plan
        policy.state.plan = [action, action, action]
        start = time.perf_counter()
        policy.act(obs, info)
        act_ms.append(1000 * (time.perf_counter() - start))
    env.close()
    return statistics.median(plan_ms), statistics.median(act_ms)


def episodes_per_minute(policy: Policy, oracle: bool, workers: int, episodes: int) -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        evaluate(EvalConfig(env=ENV, out=out, episodes=episodes, workers=workers), policy, oracle=oracle)
        return 60.0 * episodes / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--plans", type=int, default=5)
    parser.add_argument("--episodes", type=int, default=24)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"# bench_policy — {date.today()} — {platform.machine()}, {args.threads} threads, fp32, greedy constrained"
    )
    print("| policy | params | ms per plan | ms per act (cached plan) |")
    print("|---|---|---|---|")
    policies = {name: uio_policy(name) for name in ("tiny", "small")}
    for name, policy in policies.items():
        plan_ms, act_ms = time_acting(policy, args.plans)
        print(f"| {name} | {policy.model.num_parameters() / 1e6:.1f}M | {plan_ms:.0f} | {act_ms:.2f} |")
    print()
    print(f"| evaluation of {ENV} | 1 worker (episodes/min) | 2 workers (episodes/min) |")
    print("|---|---|---|")
    for label, policy, oracle in (("oracle", OraclePolicy(), True), ("tiny UIO", policies["tiny"], False)):
        rates = [episodes_per_minute(policy, oracle, w, args.episodes) for w in (1, 2)]
        print(f"| {label} | {rates[0]:.0f} | {rates[1]:.0f} |")


if __name__ == "__main__":
    main()
