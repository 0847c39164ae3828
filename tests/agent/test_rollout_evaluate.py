"""The episode runner and the evaluation protocol: seeds, failures with reasons, outputs per the contract."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from uio_agent.agent.evaluate import EvalConfig, evaluate, format_table, summarize, wilson_interval
from uio_agent.agent.policy import Policy
from uio_agent.agent.rollout import run_episodes
from uio_agent.envs import registry


@dataclass
class CountState:
    seed: int
    t: int = 0
    stop_reason: str | None = None


class CountUp(Policy):
    """Acts 1, 2, ...; gives up (None) for seeds divisible by 5."""

    def initial_state(self, info: Mapping[str, Any]) -> CountState:
        return CountState(seed=info["episode_seed"])

    def act_batch(self, obs: Sequence[Any], infos: Sequence[Any], states: Sequence[Any]) -> tuple[list, list]:
        actions = []
        for state in states:
            if state.seed % 5 == 0:
                state.stop_reason = "no plan for this seed"
                actions.append(None)
                continue
            state.t += 1
            actions.append(np.array([state.t], np.float32))
        return actions, list(states)


@pytest.fixture(autouse=True)
def counting_suite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.SUITES, "counting", "agent_fake_envs:make_counting")


def test_run_episodes_yields_every_seed_once_with_reasons() -> None:
    results = list(run_episodes("counting/ok", CountUp(), list(range(1, 11))))
    assert sorted(r.seed for r in results) == list(range(1, 11))
    for r in results:
        if r.seed % 5 == 0:
            assert not r.success and r.failure_reason == "no plan for this seed" and r.steps == 0
        else:
            assert r.success and r.failure_reason is None and r.steps == 2


def test_exceptions_in_reset_or_step_are_failed_episodes() -> None:
    results = {r.seed: r for r in run_episodes("counting/raise_reset", CountUp(), [1, 2, 3, 4])}
    assert not results[1].success and "cannot place objects for seed 1" in results[1].failure_reason
    assert results[2].success and results[4].success
    results = {r.seed: r for r in run_episodes("counting/raise_step", CountUp(), [1, 2])}
    assert all("simulator exploded" in r.failure_reason for r in results.values())


def test_wilson_interval_and_summary() -> None:
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == pytest.approx(1.0)
    lo, hi = wilson_interval(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-3) and hi == pytest.approx(0.7634, abs=1e-3)
    results = list(run_episodes("counting/ok", CountUp(), [1, 5]))
    summary = summarize(results)
    assert summary["episodes"] == 2 and summary["success_rate"] == 0.5
    assert summary["failure_reasons"] == {"no plan for this seed": 1}


def test_evaluate_writes_the_contract_outputs(tmp_path) -> None:
    config = EvalConfig(env="counting/ok", out=str(tmp_path), episodes=10, seed=1)
    info = evaluate(config, CountUp(), policy_name="count-up")
    assert set(info) >= {
        "env",
        "policy",
        "config",
        "versions",
        "renderer",
        "overall",
        "per_level",
        "per_task",
    }
    assert info["overall"]["success_rate"] == pytest.approx(0.8)
    lo, hi = info["overall"]["success_ci95"]
    assert 0 <= lo <= 0.8 <= hi <= 1
    saved = json.loads((tmp_path / "eval_info.json").read_text())
    assert saved["per_task"]["ok"]["episodes"] == 10
    lines = [json.loads(x) for x in (tmp_path / "episodes.jsonl").read_text().splitlines()]
    assert sorted(line["seed"] for line in lines) == list(range(1, 11))
    assert {"env", "seed", "success", "failure_reason", "steps", "plans"} <= set(lines[0])
    assert "ok" in format_table(info["per_task"], info["per_level"])
    with pytest.raises(ValueError, match="episodes"):
        EvalConfig(env="counting/ok", out=str(tmp_path), episodes=0)
