"""The houses an environment keeps ready: free space and other per-house work is done once per house."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

S = TypeVar("S")


class SceneCache(Generic[S]):
    """The last ``size`` scenes built by ``build(scene_id)``; the least recently used is dropped first."""

    def __init__(self, size: int, build: Callable[[str], S]) -> None:
        self.size = size
        self.build = build
        self._scenes: OrderedDict[str, S] = OrderedDict()

    def get(self, scene_id: str) -> S:
        """The scene, built now if it is not kept."""
        scene = self._scenes.get(scene_id)
        if scene is None:
            scene = self._scenes[scene_id] = self.build(scene_id)
            if len(self._scenes) > self.size:
                self._scenes.popitem(last=False)
        else:
            self._scenes.move_to_end(scene_id)
        return scene

    def __getitem__(self, scene_id: str) -> S:
        """A kept scene (the current episode's), without building or reordering."""
        return self._scenes[scene_id]
