"""Embedded navigation: procedural ProcTHOR-schema houses, a MuJoCo camera, Habitat-shaped PointNav and
THOR-shaped ObjectNav.

Importing this package only registers Gymnasium ids (lazy entry points); MuJoCo is imported when an
environment first renders.
"""

import gymnasium as gym

from uio_agent.envs.names import EnvName

#: Gymnasium id -> (entry point, house set); ``make_env("pointnav/procedural")`` builds the same environment
GYM_IDS = {
    EnvName("pointnav", "procedural").gym_id: ("uio_agent.envs.nav.pointnav:PointNavEnv", "procedural"),
    EnvName("objectnav", "procedural").gym_id: ("uio_agent.envs.nav.objectnav:ObjectNavEnv", "procedural"),
}

for _gym_id, (_entry_point, _house_set) in GYM_IDS.items():
    if _gym_id not in gym.registry:
        gym.register(_gym_id, entry_point=_entry_point, kwargs={"house_set": _house_set})
