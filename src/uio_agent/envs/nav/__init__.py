"""Embedded navigation: procedural ProcTHOR-schema houses, a MuJoCo camera, Habitat-shaped PointNav.

Importing this package only registers Gymnasium ids (lazy entry points); MuJoCo is imported when an
environment first renders.
"""

import gymnasium as gym

from uio_agent.envs.names import EnvName

#: Gymnasium id -> house set; ``make_env("pointnav/procedural")`` builds the same environment
GYM_IDS = {EnvName("pointnav", "procedural").gym_id: "procedural"}

for _gym_id, _house_set in GYM_IDS.items():
    if _gym_id not in gym.registry:
        gym.register(
            _gym_id, entry_point="uio_agent.envs.nav.pointnav:PointNavEnv", kwargs={"house_set": _house_set}
        )
