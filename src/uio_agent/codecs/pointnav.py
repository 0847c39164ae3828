"""Habitat PointNav <-> UIO-2: UIO-2's next-action format, one discrete action per step (``reference`` §9.2).

The layout, history entries, pose tokens, decoding and grammar are shared with ObjectNav
(:mod:`uio_agent.codecs.navigation`); PointNav fills the template's two slots:

* ``{#OBS}``: the ``pointgoal_with_gps_compass`` reading ``[rho, phi]`` as
  ``"The goal is {rho:.1f} meters away and {|phi| in whole degrees} degrees to the {left|right}. "``
  (the phrasing of the tokenizer corpus). habitat's sign convention: ``phi > 0`` is to the left;
  ``phi == 0`` reads "0 degrees to the left".
* ``{#action_space}``: ``"stop, move forward, turn left, turn right"``, habitat's four Discrete(4) action
  names (``STOP``, ``MOVE_FORWARD``, ...) in id order, words split and lower-cased.

History poses come from ``info["agent_position"]`` / ``info["agent_rotation"]`` (Habitat's frame,
``[x, y, z]`` and ``[x, y, z, w]``), which ``PointNavEnv`` and the habitat adapter report.

Output: one action phrase (``"stop"``, ``"move forward"``, ``"turn left"``, ``"turn right"``) and EOS,
decoded to the Discrete(4) id; :meth:`PointNavCodec.grammar` admits exactly these four sentences.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from uio_agent.codecs.navigation import AgentPose, NavCodec, name_words, require_keys
from uio_agent.envs.nav.frames import quaternion_to_yaw
from uio_agent.envs.nav.motion import ACTION_NAMES

#: Discrete(4) action id -> output phrase
ACTION_PHRASES = tuple(name_words(name) for name in ACTION_NAMES)


def goal_text(pointgoal: Sequence[float]) -> str:
    """``{#OBS}``: ``[rho, phi]`` (habitat: phi > 0 = left) as one sentence ending with a space."""
    rho, phi = (float(v) for v in np.asarray(pointgoal, dtype=np.float64).reshape(-1)[:2])
    if not (math.isfinite(rho) and math.isfinite(phi)):
        raise ValueError(f"pointgoal_with_gps_compass must be finite, got {[rho, phi]}")
    degrees = round(abs(math.degrees(phi)))
    side = "left" if phi >= 0 else "right"
    return f"The goal is {rho:.1f} meters away and {degrees} degrees to the {side}. "


class PointNavCodec(NavCodec):
    """PointNav (the embedded suite and habitat)."""

    family = "pointnav"
    action_phrases = ACTION_PHRASES
    pose_keys = ("agent_position", "agent_rotation")

    def observation_text(self, obs: Mapping[str, Any], info: Mapping[str, Any]) -> str:
        """The point-goal sentence; ``info`` is not needed."""
        del info
        return goal_text(obs["pointgoal_with_gps_compass"])

    def agent_pose(self, info: Mapping[str, Any]) -> AgentPose:
        """From ``agent_position`` ``[x, y, z]`` and ``agent_rotation`` ``[x, y, z, w]`` (Habitat's frame)."""
        require_keys(
            info,
            self.pose_keys,
            "PointNav history needs the agent pose in info (PointNavEnv and the habitat adapter report it)",
        )
        position = info["agent_position"]
        return AgentPose(
            float(position[0]), float(position[2]), quaternion_to_yaw(list(info["agent_rotation"]))
        )
