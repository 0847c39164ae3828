"""The scene cache builds each kept house once and drops the least recently used."""

from __future__ import annotations

from uio_agent.envs.nav.scene_cache import SceneCache


def test_builds_once_and_drops_the_least_recently_used() -> None:
    built: list[str] = []

    def build(scene_id: str) -> str:
        built.append(scene_id)
        return scene_id.upper()

    cache = SceneCache(2, build)
    assert [cache.get(s) for s in ("a", "b", "a", "c", "a", "b")] == ["A", "B", "A", "C", "A", "B"]
    assert built == ["a", "b", "c", "b"]  # "b" was dropped when "c" came, "a" stayed in use
    assert cache["a"] == "A"
