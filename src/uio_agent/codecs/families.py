"""Which codec family an environment speaks: the one table the policies and the trainer share.

A UIO-2 policy speaks one codec: PointNav suites (``pointnav``, ``habitat``) the PointNav codec,
ObjectNav suites (``objectnav``, ``thor``) the ObjectNav codec, every other suite (``tabletop``,
``vima_bench``) the VIMA codec. A checkpoint's ``codec.json`` records its family.
"""

from __future__ import annotations

from collections.abc import Iterable

from uio_agent.envs.names import EnvName

#: navigation suites -> codec family (every other suite is VIMA's)
NAVIGATION_FAMILIES = {
    "pointnav": "pointnav",
    "habitat": "pointnav",
    "objectnav": "objectnav",
    "thor": "objectnav",
}


class FamilyMixError(ValueError):
    """Environment names of different codec families where one model (one codec) must serve them all."""


def family_name(env_name: str) -> str:
    """``"pointnav"``, ``"objectnav"`` or ``"vima"`` for one environment name."""
    return NAVIGATION_FAMILIES.get(EnvName.parse(env_name).suite, "vima")


def one_family(env_names: Iterable[str], where: str, remedy: str) -> str:
    """The one family of ``env_names``; a :class:`FamilyMixError` listing each family's names otherwise."""
    by_family: dict[str, set[str]] = {}
    for name in env_names:
        by_family.setdefault(family_name(name), set()).add(name)
    if not by_family:
        raise ValueError(f"{where}: no environment names to choose a codec family from")
    if len(by_family) > 1:
        parts = "; ".join(
            f"{family}: {', '.join(sorted(names))}" for family, names in sorted(by_family.items())
        )
        raise FamilyMixError(f"{where} mix codec families ({parts}); one model speaks one codec: {remedy}")
    return next(iter(by_family))
