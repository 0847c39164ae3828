"""Policies with one small contract, shared by the UIO-2 model, the scripted oracle and a random baseline.

``policy.initial_state(info) -> state`` starts an episode; ``policy.act_batch(obs, infos, states) ->
(actions, states)`` acts for several environments at once (one model call for all that need a plan);
``policy.reset(info)`` / ``policy.act(obs, info)`` are the single-environment conveniences. State is
explicit and per environment, so one policy object drives any number of environments.

An action of ``None`` means the policy cannot act: the episode ends, and ``state.stop_reason`` says
why (an unparsable plan, a prompt the codec cannot encode, a plan used up under ``replan="never"``).
"""

from __future__ import annotations

import abc
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

import gymnasium as gym
import numpy as np
import torch

from uio_agent.codecs.grammar import ActionParseError, PerRowAllowedTokens
from uio_agent.codecs.vima import PromptImageLimitError, VimaCodec
from uio_agent.model.batch import ModelInputs
from uio_agent.model.checkpoint import CheckpointError, load_model, write_folder_atomically, write_model_files
from uio_agent.model.generate import generate
from uio_agent.model.uio import UIOModel

Action = dict[str, np.ndarray]
REPLAN_MODES = ("when_exhausted", "never")
END_EFFECTORS = ("suction", "spatula")  # VIMA's obs["ee"]: 0 suction, 1 spatula


@dataclass
class PlanState:
    """Per-environment state of a planning policy."""

    plan: list[Action] = field(default_factory=list)
    plans_made: int = 0
    steps_taken: int = 0
    last_plan_text: str = ""
    stop_reason: str | None = None


class Policy(abc.ABC):
    """Base class: the single-environment conveniences on top of ``initial_state``/``act_batch``."""

    @abc.abstractmethod
    def initial_state(self, info: Mapping[str, Any]) -> Any:
        """A fresh per-environment state for an episode that starts with ``info``."""

    @abc.abstractmethod
    def act_batch(
        self, obs: Sequence[Mapping[str, Any]], infos: Sequence[Mapping[str, Any]], states: Sequence[Any]
    ) -> tuple[list[Action | None], list[Any]]:
        """One action (or None: cannot act) per environment, and the updated states."""

    def reset(self, info: Mapping[str, Any]) -> None:
        self._state = self.initial_state(info)

    def act(self, obs: Mapping[str, Any], info: Mapping[str, Any]) -> Action | None:
        if not hasattr(self, "_state"):
            raise RuntimeError("call policy.reset(info) at the start of each episode before policy.act")
        actions, states = self.act_batch([obs], [info], [self._state])
        self._state = states[0]
        return actions[0]

    @property
    def state(self) -> Any:
        return self._state


@dataclass
class GenerationSettings:
    """How plans are decoded."""

    method: str = "greedy"
    num_beams: int = 4
    top_p: float = 0.9
    temperature: float = 1.0
    constrained: bool = True


class CheckpointPolicy(Policy):
    """A policy made of a UIO-2 model and a codec, stored as a checkpoint folder (DESIGN.md)."""

    model: UIOModel
    codec: Any
    #: the codec family this policy reads (its ``load(folder, tokenizer_sha256)`` classmethod)
    codec_class: ClassVar[Any]

    def __init__(
        self,
        model: UIOModel,
        codec: Any,
        *,
        generation: GenerationSettings | None = None,
        device: str | torch.device = "cpu",
        seed: int = 0,
    ) -> None:
        self.model = model.to(device).eval()
        self.codec = codec
        self.generation = generation or GenerationSettings()
        self.device = torch.device(device)
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        # ids the tokenizer never produces (reserved, unassigned, PAD/BOS, UNK) are never generated
        self.banned = torch.from_numpy(~codec.tokenizer.generable_mask()).to(self.device)

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike[str], **kwargs: Any) -> Self:
        """Load a checkpoint folder (``model.safetensors``, ``config.json``, ``tokenizer.model``,
        ``codec.json``, ``preprocess.json``)."""
        root = Path(folder)
        config = json.loads((root / "config.json").read_text()) if (root / "config.json").is_file() else {}
        try:
            codec = cls.codec_class.load(root, tokenizer_sha256=config.get("tokenizer_sha256"))
        except (FileNotFoundError, ValueError) as err:
            raise CheckpointError(str(err)) from err
        return cls(load_model(root), codec, **kwargs)

    def save_pretrained(self, folder: str | os.PathLike[str]) -> None:
        """Write the checkpoint folder atomically."""

        def write(tmp: Path) -> None:
            write_model_files(self.model, tmp, extra_config={"tokenizer_sha256": self.codec.tokenizer.sha256})
            self.codec.save(tmp)

        write_folder_atomically(Path(folder), write)


class UIOPolicy(CheckpointPolicy):
    """UIO-2 as a VIMA policy: an open-loop plan from the observation, re-planned when it runs out."""

    codec_class = VimaCodec

    def __init__(
        self,
        model: UIOModel,
        codec: VimaCodec,
        *,
        replan: str = "when_exhausted",
        generation: GenerationSettings | None = None,
        device: str | torch.device = "cpu",
        seed: int = 0,
    ) -> None:
        if replan not in REPLAN_MODES:
            raise ValueError(f"replan must be one of {REPLAN_MODES}, got {replan!r}")
        super().__init__(model, codec, generation=generation, device=device, seed=seed)
        self.replan = replan

    # ------------------------------------------------------------------ acting
    def initial_state(self, info: Mapping[str, Any]) -> PlanState:
        return PlanState()

    def _needs_plan(self, state: PlanState) -> bool:
        if state.plan or state.stop_reason is not None:
            return False
        return state.plans_made == 0 or self.replan == "when_exhausted"

    @torch.no_grad()
    def plan_batch(
        self, obs: Sequence[Mapping[str, Any]], infos: Sequence[Mapping[str, Any]]
    ) -> list[tuple[str, list[Action] | None, str | None]]:
        """One model call for several environments: (plan text, actions or None, error or None) each."""
        results: list[tuple[str, list[Action] | None, str | None]] = [("", None, None)] * len(obs)
        inputs: list[ModelInputs] = []
        rows: list[int] = []
        grammars = []
        for i, (o, info) in enumerate(zip(obs, infos, strict=True)):
            try:
                inputs.append(self.codec.encode(o, info))
            except (PromptImageLimitError, ValueError, KeyError) as err:
                results[i] = ("", None, f"cannot encode the prompt: {err}")
                continue
            rows.append(i)
            grammars.append(self.codec.grammar(END_EFFECTORS[int(o.get("ee", 0))]))
        if not rows:
            return results
        settings = self.generation
        beams = settings.num_beams if settings.method == "beam" else 1
        allowed = PerRowAllowedTokens(grammars, beams) if settings.constrained else None
        result = generate(
            self.model,
            ModelInputs.collate(inputs).to(self.device),
            max_new_tokens=min(
                self.model.config.decoder_max_text_length, 20 * self.codec.config.max_steps + 4
            ),
            method=settings.method,
            num_beams=settings.num_beams,
            top_p=settings.top_p,
            temperature=settings.temperature,
            allowed_tokens=allowed,
            banned_tokens=self.banned,
            generator=self.generator,
        )
        for row, ids in zip(rows, result.tokens.tolist(), strict=True):
            text = self.codec.tokenizer.decode(ids, stop_at_eos=True)
            try:
                results[row] = (text, self.codec.decode(text), None)
            except ActionParseError as err:
                results[row] = (text, None, f"unparsable plan: {err}")
        return results

    def act_batch(
        self,
        obs: Sequence[Mapping[str, Any]],
        infos: Sequence[Mapping[str, Any]],
        states: Sequence[PlanState],
    ) -> tuple[list[Action | None], list[PlanState]]:
        states = list(states)
        need = [i for i, s in enumerate(states) if self._needs_plan(s)]
        if need:
            planned = self.plan_batch([obs[i] for i in need], [infos[i] for i in need])
            for i, (text, plan, error) in zip(need, planned, strict=True):
                state = states[i]
                state.plans_made += 1
                state.last_plan_text = text
                if error is not None:
                    state.stop_reason = error
                else:
                    assert plan is not None
                    state.plan = plan
        actions: list[Action | None] = []
        for state in states:
            if state.plan:
                actions.append(state.plan.pop(0))
                state.steps_taken += 1
            else:
                if state.stop_reason is None:
                    state.stop_reason = "plan exhausted (replan=never)"
                actions.append(None)
        return actions, states


@dataclass
class OracleState:
    steps_taken: int = 0
    stop_reason: str | None = None


class OraclePolicy(Policy):
    """Replays the simulator's scripted oracle. The oracle reads privileged state, so it runs next to
    the environment: wrap it with :class:`OracleActionWrapper` (evaluation does) and this policy reads
    ``info["oracle_action"]``."""

    def initial_state(self, info: Mapping[str, Any]) -> OracleState:
        return OracleState()

    def act_batch(
        self,
        obs: Sequence[Mapping[str, Any]],
        infos: Sequence[Mapping[str, Any]],
        states: Sequence[OracleState],
    ) -> tuple[list[Action | None], list[OracleState]]:
        actions: list[Action | None] = []
        for info, state in zip(infos, states, strict=True):
            if "oracle_action" not in info:
                raise KeyError("info has no 'oracle_action': wrap the environment with OracleActionWrapper")
            action = info["oracle_action"]
            if action is None:
                state.stop_reason = "oracle found no action (target not visible)"
            else:
                state.steps_taken += 1
            actions.append(action)
        return actions, list(states)


class OracleActionWrapper(gym.Wrapper):
    """Puts the oracle's next action into ``info["oracle_action"]`` after every reset and step, and
    resets in oracle mode (VIMA-Bench's ``skip_oracle=False`` bookkeeping)."""

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options={**(options or {}), "oracle": True})
        self._oracle = self.env.unwrapped.oracle()  # type: ignore[attr-defined]
        return obs, {**info, "oracle_action": self._oracle.act(obs)}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        next_action = None if terminated or truncated else self._oracle.act(obs)
        return obs, float(reward), terminated, truncated, {**info, "oracle_action": next_action}


@dataclass
class RandomState:
    rng: np.random.Generator
    steps_taken: int = 0
    stop_reason: str | None = None


class RandomPolicy(Policy):
    """Uniform actions from the action space; reproducible per (policy seed, episode seed)."""

    def __init__(self, action_space: gym.spaces.Space[Any], seed: int = 0) -> None:
        self.action_space = action_space
        self.seed = seed

    def initial_state(self, info: Mapping[str, Any]) -> RandomState:
        episode_seed = int(info.get("episode_seed", info.get("seed", 0)) or 0)
        return RandomState(np.random.default_rng([self.seed, episode_seed]))

    def act_batch(
        self,
        obs: Sequence[Mapping[str, Any]],
        infos: Sequence[Mapping[str, Any]],
        states: Sequence[RandomState],
    ) -> tuple[list[Action | None], list[RandomState]]:
        actions: list[Action | None] = []
        for state in states:
            space = self.action_space
            space.seed(int(state.rng.integers(2**31)))
            actions.append(space.sample())
            state.steps_taken += 1
        return actions, list(states)
