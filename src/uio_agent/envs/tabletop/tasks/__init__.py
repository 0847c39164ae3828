"""The 17 VIMA-Bench tasks, by VIMA's ``group/name`` key (in VIMA's ``ALL_TASKS`` order)."""

from __future__ import annotations

from uio_agent.envs.tabletop.tasks.base import Task
from uio_agent.envs.tabletop.tasks.imitation import FollowMotion, FollowOrder
from uio_agent.envs.tabletop.tasks.memory import ManipulateOldNeighbor, PickInOrderThenRestore
from uio_agent.envs.tabletop.tasks.novel_concepts import NovelAdj, NovelAdjAndNoun, NovelNoun, Twist
from uio_agent.envs.tabletop.tasks.rearrange import Rearrange, RearrangeThenRestore
from uio_agent.envs.tabletop.tasks.reasoning import SameShape, SameTexture
from uio_agent.envs.tabletop.tasks.rotate import Rotate
from uio_agent.envs.tabletop.tasks.scene_understanding import SceneUnderstanding
from uio_agent.envs.tabletop.tasks.sweep import SweepWithoutExceeding, SweepWithoutTouching
from uio_agent.envs.tabletop.tasks.visual_manipulation import VisualManipulation

_ORDER: tuple[type[Task], ...] = (
    VisualManipulation,
    SceneUnderstanding,
    Rotate,
    SweepWithoutExceeding,
    SweepWithoutTouching,
    NovelAdjAndNoun,
    NovelAdj,
    NovelNoun,
    Twist,
    FollowMotion,
    FollowOrder,
    Rearrange,
    ManipulateOldNeighbor,
    PickInOrderThenRestore,
    RearrangeThenRestore,
    SameTexture,
    SameShape,
)
TASK_CLASSES: dict[str, type[Task]] = {f"{cls.group}/{cls.task_name}": cls for cls in _ORDER}

__all__ = [
    "TASK_CLASSES",
    "FollowMotion",
    "FollowOrder",
    "ManipulateOldNeighbor",
    "NovelAdj",
    "NovelAdjAndNoun",
    "NovelNoun",
    "PickInOrderThenRestore",
    "Rearrange",
    "RearrangeThenRestore",
    "Rotate",
    "SameShape",
    "SameTexture",
    "SceneUnderstanding",
    "SweepWithoutExceeding",
    "SweepWithoutTouching",
    "Task",
    "Twist",
    "VisualManipulation",
]
