"""The VIMA tasks re-created so far, by VIMA's ``group/name`` key."""

from __future__ import annotations

from uio_agent.envs.tabletop.tasks.base import Task
from uio_agent.envs.tabletop.tasks.rotate import Rotate
from uio_agent.envs.tabletop.tasks.visual_manipulation import VisualManipulation

TASK_CLASSES: dict[str, type[Task]] = {
    f"{cls.group}/{cls.task_name}": cls for cls in (VisualManipulation, Rotate)
}

__all__ = ["TASK_CLASSES", "Rotate", "Task", "VisualManipulation"]
