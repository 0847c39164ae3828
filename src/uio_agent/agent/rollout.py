"""Run seeded episodes of one environment with a policy, across worker processes.

Simulators live in the workers (``AsyncVectorEnv``, spawn context, one environment and one thread
each; in-process ``SyncVectorEnv`` for a single worker); the policy runs in the parent and acts for
every active worker in one batched call. Autoreset is disabled: each worker is reset explicitly with
the next episode seed, so episode ``k`` always uses seed ``seeds[k]`` whatever the worker count.
Episodes finish in any order; results are yielded as they finish.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv
from gymnasium.vector.utils import concatenate, create_empty_array, iterate

from uio_agent.agent.policy import Policy
from uio_agent.agent.worker_env import StepInfo, make_episode_env


@dataclass
class EpisodeResult:
    """One finished episode. ``failure_reason`` is None exactly when ``success``."""

    env_name: str
    index: int
    seed: int
    success: bool
    failure_reason: str | None
    steps: int
    plans: int
    prompt: str = ""
    #: per-step infos of the environment (diagnostics such as the picked object)
    step_infos: list[dict[str, Any]] = field(default_factory=list)
    #: RGB frames (H, W, 3) when recorded for a video
    frames: list[np.ndarray] | None = None
    #: observations, actions and infos when recorded for a dataset
    trajectory: dict[str, list[Any]] | None = None


@dataclass
class _Slot:
    index: int
    seed: int
    obs: Any
    info: dict[str, Any]
    state: Any
    steps: int = 0
    prompt: str = ""
    step_infos: list[dict[str, Any]] = field(default_factory=list)
    frames: list[np.ndarray] | None = None
    trajectory: dict[str, list[Any]] | None = None


def _rgb_frame(obs: Any) -> np.ndarray | None:
    """Front over top (H, W, 3) of a VIMA-style observation, or the ``rgb`` array of a navigation one."""
    rgb = obs.get("rgb") if isinstance(obs, dict) else None
    if isinstance(rgb, dict):
        return np.concatenate(
            [np.asarray(rgb[v]).transpose(1, 2, 0) for v in ("front", "top") if v in rgb], axis=0
        )
    if isinstance(rgb, np.ndarray):
        return rgb
    return None


@contextlib.contextmanager
def _single_threaded_children() -> Iterator[None]:
    """Workers inherit one-thread settings from the environment at spawn time."""
    saved = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "LP_NUM_THREADS")}
    os.environ.update({"OMP_NUM_THREADS": "1", "LP_NUM_THREADS": "1"})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def make_vector_env(
    env_name: str, workers: int, *, oracle: bool = False, env_kwargs: dict[str, Any] | None = None
) -> gym.vector.VectorEnv:
    """``workers`` copies of ``env_name`` wrapped in :class:`EpisodeEnv`, autoreset disabled."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    factory = functools.partial(make_episode_env, env_name, oracle, dict(env_kwargs or {}))
    if workers == 1:
        return SyncVectorEnv([factory], autoreset_mode=AutoresetMode.DISABLED)
    with _single_threaded_children():
        return AsyncVectorEnv(
            [factory] * workers, context="spawn", autoreset_mode=AutoresetMode.DISABLED, shared_memory=False
        )


def run_episodes(
    env_name: str,
    policy: Policy,
    seeds: Sequence[int],
    *,
    workers: int = 1,
    oracle: bool = False,
    env_kwargs: dict[str, Any] | None = None,
    record_frames: int = 0,
    record_trajectories: bool = False,
) -> Iterator[EpisodeResult]:
    """Yield one :class:`EpisodeResult` per seed (as episodes finish). Frames are kept for the first
    ``record_frames`` episodes; full trajectories when ``record_trajectories``."""
    vec = make_vector_env(env_name, min(workers, max(len(seeds), 1)), oracle=oracle, env_kwargs=env_kwargs)
    try:
        yield from _run(vec, env_name, policy, list(seeds), record_frames, record_trajectories)
    finally:
        vec.close()


def _run(
    vec: gym.vector.VectorEnv,
    env_name: str,
    policy: Policy,
    seeds: list[int],
    record_frames: int,
    record_trajectories: bool,
) -> Iterator[EpisodeResult]:
    n = vec.num_envs
    slots: list[_Slot | None] = [None] * n
    pending = deque(enumerate(seeds))
    filler: Any = create_empty_array(vec.single_action_space, n)
    last_actions: list[Any] = [vec.single_action_space.sample() for _ in range(n)]

    def finish(i: int, success: bool, reason: str | None) -> EpisodeResult:
        slot = slots[i]
        assert slot is not None
        slots[i] = None
        return EpisodeResult(
            env_name=env_name,
            index=slot.index,
            seed=slot.seed,
            success=success,
            failure_reason=None if success else (reason or "episode ended without success"),
            steps=slot.steps,
            plans=int(getattr(slot.state, "plans_made", 0)),
            prompt=slot.prompt,
            step_infos=slot.step_infos,
            frames=slot.frames,
            trajectory=slot.trajectory,
        )

    def observe(slot: _Slot, obs: Any, report: StepInfo) -> None:
        slot.obs = obs
        slot.info = {**report.info, "oracle_action": report.oracle_action}
        if slot.frames is not None and (frame := _rgb_frame(obs)) is not None:
            slot.frames.append(frame)
        if slot.trajectory is not None:
            slot.trajectory["observations"].append(obs)
            slot.trajectory["infos"].append(report.info)

    while pending or any(s is not None for s in slots):
        # 1. start the next episodes on idle workers
        reset_mask = np.zeros(n, dtype=bool)
        reset_seeds: list[int | None] = [None] * n
        starting: dict[int, tuple[int, int]] = {}
        for i in range(n):
            if slots[i] is None and pending:
                index, seed = pending.popleft()
                reset_mask[i], reset_seeds[i], starting[i] = True, seed, (index, seed)
        if starting:
            obs, infos = vec.reset(seed=reset_seeds, options={"reset_mask": reset_mask})  # type: ignore[arg-type]
            per_env = list(iterate(vec.observation_space, obs))
            for i, (index, seed) in starting.items():
                report: StepInfo = infos["step_info"][i]
                info = {**report.info, "episode_seed": seed}
                slot = _Slot(index, seed, None, info, None, prompt=str(report.info.get("prompt", "")))
                slot.frames = [] if index < record_frames else None
                slot.trajectory = (
                    {"observations": [], "actions": [], "infos": []} if record_trajectories else None
                )
                slots[i] = slot
                if report.error is not None:
                    yield finish(i, False, report.error)
                    continue
                observe(slot, per_env[i], report)
                slot.info["episode_seed"] = seed
                slot.state = policy.initial_state(slot.info)
        active = [i for i in range(n) if slots[i] is not None]
        if not active:
            continue
        # 2. one batched policy call for every active episode
        running = [s for s in slots if s is not None]
        actions, states = policy.act_batch(
            [s.obs for s in running], [s.info for s in running], [s.state for s in running]
        )
        stopped = np.zeros(n, dtype=bool)
        for i, slot, action, state in zip(active, running, actions, states, strict=True):
            slot.state = state
            if action is None:
                stopped[i] = True
                yield finish(i, False, getattr(state, "stop_reason", None) or "policy returned no action")
            else:
                last_actions[i] = action
                if slot.trajectory is not None:
                    slot.trajectory["actions"].append(action)
        if stopped.any():
            vec.set_attr("park_requested", [bool(x) for x in stopped])  # type: ignore[attr-defined]
        if not any(slots[i] is not None for i in active):
            continue
        # 3. step every worker (idle and parked ones ignore their filler action)
        batched = concatenate(vec.single_action_space, last_actions, filler)
        obs, _, terminated, truncated, infos = vec.step(batched)
        per_env = list(iterate(vec.observation_space, obs))
        for i in active:
            current = slots[i]
            if current is None:
                continue
            report = infos["step_info"][i]
            current.steps += 1
            if report.error is not None:
                yield finish(i, False, report.error)
                continue
            observe(current, per_env[i], report)
            current.step_infos.append(report.info)
            if terminated[i] or truncated[i]:
                success = bool(report.info.get("success", False))
                reason = report.info.get("failure_reason")
                if not success and not reason:
                    reason = "step budget exhausted" if truncated[i] else "terminated without success"
                yield finish(i, success, reason)
