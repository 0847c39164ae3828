"""The quickstart's whole loop at toy size: interior-pick demos, a trained checkpoint, three evaluations,
the report and the loss curve."""

from __future__ import annotations

import json

import pytest

from uio_agent.data.reader import EpisodeDataset
from uio_agent.quickstart import QuickstartConfig, run


def test_quickstart_collects_trains_evaluates_and_reports(tmp_path) -> None:
    config = QuickstartConfig(
        out=str(tmp_path),
        tasks=["visual_manipulation"],
        demos_per_task=2,
        workers=1,
        eval_episodes=1,
        videos=0,
        train={"steps": 2, "time_limit_s": 0, "batch_size": 2, "warmup": 1, "log_every": 1},
    )
    results = run(config)

    demos = tmp_path / "demos" / "visual_manipulation"
    recorded = json.loads((demos / "collect.json").read_text())
    assert recorded["env_kwargs"] == {"oracle_pick_point": "interior"}
    assert len(list(EpisodeDataset(demos))) == 2
    assert set(results) == {"random", "trained", "oracle"}
    assert results["oracle"]["per_task"]["visual_manipulation@L1"]["success_rate"] == 1.0
    for label in results:
        assert (tmp_path / "eval" / label / "eval_info.json").is_file()
    report = (tmp_path / "report.md").read_text()
    assert "| visual_manipulation@L1 |" in report and "trained policy diagnostics" in report
    assert (tmp_path / "loss_curve.png").stat().st_size > 0


def test_quickstart_refuses_an_unknown_pick_point() -> None:
    with pytest.raises(ValueError, match="oracle_pick_point must be 'interior' or 'sample'"):
        QuickstartConfig(oracle_pick_point="centre")
