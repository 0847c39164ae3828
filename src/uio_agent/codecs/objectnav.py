"""ProcTHOR ObjectNav <-> UIO-2: UIO-2's next-action format with AI2-THOR's actions, one action per step.

UIO-2 has no released ObjectNav prompt; its ``next_action_prediction`` data (random ProcTHOR and
Habitat trajectories) reuses the 19 next-action phrases, and the only navigation template released is
PointNav's (``reference/uio2-architecture.md`` §9.2). ObjectNav therefore fills that same template, and
shares its layout, history entries, pose tokens, decoding and grammar with PointNav
(:mod:`uio_agent.codecs.navigation`). The choices made here:

* ``{#OBS}``: the target category and the camera's pitch, e.g.
  ``"Find the alarm clock in the house. The camera looks 30 degrees down. "``. The category is
  ``obs["object_type"]`` (THOR's ``objectType``, e.g. ``AlarmClock``) with its words split and
  lower-cased, in the tokenizer corpus's "Find the {target} in the house. " sentence. The pitch is
  ``info["agent"]["cameraHorizon"]`` in whole degrees (THOR: positive looks down; ``"... looks N degrees
  up. "`` when negative, ``"The camera looks straight ahead. "`` at 0). It is stated because LookUp /
  LookDown change what is in view and the clamp at −30°/60° makes a look a no-op that the history
  window cannot always reveal; the ``( x z y )`` entries stay the official three tokens.
* ``{#action_space}``: ``"move ahead, rotate left, rotate right, end, look up, look down"``, THOR's
  names (``MoveAhead``, ``RotateLeft``, ...) in allenact's Discrete(6) order
  (:data:`uio_agent.envs.nav.thor.ACTION_NAMES`), words split and lower-cased like habitat's are for
  PointNav, so each phrase names the simulator action it runs.
* History poses: ``info["agent"]["position"]`` and ``["rotation"]["y"]`` are in THOR's Unity frame
  (left-handed, yaw clockwise); they are converted to ours (:func:`~uio_agent.envs.nav.thor.unity_to_ours`,
  :func:`~uio_agent.envs.nav.thor.yaw_from_thor`) and written start-relative exactly as PointNav's:
  ``x`` to the start's right, ``z`` behind the start, ``yaw`` = turn to the left.

Output: one of the six phrases and EOS, decoded to the Discrete(6) id;
:meth:`ObjectNavCodec.grammar` admits exactly these six sentences.

Example (target ``Apple``, horizon 30°, one step taken: MoveAhead from the start)::

    [Text] [S] Foresee the next action Find the apple in the house. The camera looks 30 degrees down.
    with the discrete action space "move ahead, rotate left, rotate right, end, look up, look down" based
    on agent's histories with the format "observation ( x z y ) action" History: <image_history_1>
    ( <extra_id_699> <extra_id_699> <extra_id_200> ) move ahead

(one line; wrapped here).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from uio_agent.codecs.navigation import AgentPose, NavCodec, name_words, require_keys
from uio_agent.envs.nav.thor import ACTION_NAMES, unity_to_ours, yaw_from_thor

#: Discrete(6) action id -> output phrase
ACTION_PHRASES = tuple(name_words(name) for name in ACTION_NAMES)


def target_text(object_type: Any, horizon: float) -> str:
    """``{#OBS}`` for a THOR ``objectType`` and ``cameraHorizon`` (degrees, positive = down)."""
    target = name_words(str(np.asarray(object_type).reshape(())))
    if not target or not target.replace(" ", "").isalnum():
        raise ValueError(f"object_type must be a THOR object type such as 'AlarmClock', got {object_type!r}")
    pitch = round(float(horizon))
    if pitch == 0:
        camera = "The camera looks straight ahead. "
    else:
        camera = f"The camera looks {abs(pitch)} degrees {'down' if pitch > 0 else 'up'}. "
    return f"Find the {target} in the house. {camera}"


class ObjectNavCodec(NavCodec):
    """ObjectNav (the embedded ``objectnav`` suite and the AI2-THOR adapter)."""

    family = "objectnav"
    action_phrases = ACTION_PHRASES
    pose_keys = ("agent",)

    def observation_text(self, obs: Mapping[str, Any], info: Mapping[str, Any]) -> str:
        """The target sentence from ``obs["object_type"]`` and the camera sentence from ``info["agent"]``."""
        require_keys(info, self.pose_keys, "ObjectNav reads the camera horizon from info['agent']")
        return target_text(obs["object_type"], info["agent"]["cameraHorizon"])

    def agent_pose(self, info: Mapping[str, Any]) -> AgentPose:
        """From THOR's ``info["agent"]`` (``position`` {x, y, z} and ``rotation`` {x, y, z}, Unity frame)."""
        require_keys(
            info,
            self.pose_keys,
            "ObjectNav history needs THOR's agent metadata in info (ObjectNavEnv and the THOR adapter report it)",
        )
        agent = info["agent"]
        position = agent["position"]
        x, _, z = unity_to_ours(position["x"], position["y"], position["z"])
        return AgentPose(x, z, yaw_from_thor(float(agent["rotation"]["y"])))
