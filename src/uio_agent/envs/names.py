"""Environment names: ``SUITE[/TASK][@LEVEL]``, one string for CLI, configs, datasets and results."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: VIMA-Bench partition names and the short aliases used in papers and on the command line.
LEVEL_ALIASES: dict[str, str] = {
    "L1": "placement_generalization",
    "L2": "combinatorial_generalization",
    "L3": "novel_object_generalization",
    "L4": "novel_task_generalization",
}
LEVEL_SHORT: dict[str, str] = {full: short for short, full in LEVEL_ALIASES.items()}

_PART = r"[A-Za-z0-9_\-]+"
_NAME_RE = re.compile(rf"^(?P<suite>{_PART})(?:/(?P<task>{_PART}))?(?:@(?P<level>{_PART}))?$")


@dataclass(frozen=True)
class EnvName:
    """A parsed environment name. ``level`` is stored in its full partition form."""

    suite: str
    task: str | None = None
    level: str | None = None

    @classmethod
    def parse(cls, name: str) -> EnvName:
        match = _NAME_RE.match(name.strip())
        if match is None:
            raise ValueError(
                f"invalid environment name {name!r}: expected SUITE[/TASK][@LEVEL], "
                "e.g. 'tabletop/rotate@L1', 'tabletop@L1' or 'pointnav/procedural'"
            )
        level = match["level"]
        if level is not None:
            level = LEVEL_ALIASES.get(level, level)
        return cls(suite=match["suite"], task=match["task"], level=level)

    def __str__(self) -> str:
        text = self.suite
        if self.task:
            text += f"/{self.task}"
        if self.level:
            text += f"@{LEVEL_SHORT.get(self.level, self.level)}"
        return text

    @property
    def gym_id(self) -> str:
        """The registered Gymnasium id; ``@`` never appears in an id."""
        parts = [self.suite]
        if self.task:
            parts.append(self.task)
        if self.level:
            parts.append(LEVEL_SHORT.get(self.level, self.level))
        return "uio_agent/" + "-".join(parts) + "-v0"
