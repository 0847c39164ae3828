"""Which codec a training run speaks, chosen from its episodes' environments, and the datasets it reads.

A run's codec family follows the suite of its environment names, as the policies' does
(``agent/build.py``): PointNav suites (``pointnav``, ``habitat``) train the PointNav codec, ObjectNav
suites (``objectnav``, ``thor``) the ObjectNav codec, every other suite (``tabletop``, ``vima_bench``)
the VIMA codec. One model speaks one codec, so a run whose episodes span families is refused. The
checkpoint's ``codec.json`` records the family, so ``uio-agent eval`` builds the matching policy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from uio_agent.codecs.families import one_family
from uio_agent.codecs.navigation import NavCodec, NavCodecConfig
from uio_agent.codecs.objectnav import ObjectNavCodec
from uio_agent.codecs.pointnav import PointNavCodec
from uio_agent.codecs.vima import VimaCodec, VimaCodecConfig
from uio_agent.data.episode import Episode
from uio_agent.data.errors import DatasetError
from uio_agent.data.reader import EpisodeDataset
from uio_agent.model.preprocess import PreprocessConfig


@dataclass(frozen=True)
class Family:
    """A codec family and its codec class."""

    name: str
    codec_class: type[VimaCodec] | type[NavCodec]

    @property
    def step_info_keys(self) -> tuple[str, ...]:
        """The per-step info keys its episodes must keep (a navigation codec's pose keys)."""
        return self.codec_class.pose_keys if issubclass(self.codec_class, NavCodec) else ()

    def new_codec(self, preprocess: PreprocessConfig, options: Mapping[str, Any]) -> VimaCodec | NavCodec:
        """A fresh codec configured by ``TrainConfig.codec`` (unknown fields: a ``ValueError`` naming them)."""
        if issubclass(self.codec_class, NavCodec):
            return self.codec_class(preprocess=preprocess, config=NavCodecConfig.from_dict(options))
        return self.codec_class(preprocess=preprocess, config=VimaCodecConfig.from_dict(options))


FAMILIES = {
    "vima": Family("vima", VimaCodec),
    "pointnav": Family("pointnav", PointNavCodec),
    "objectnav": Family("objectnav", ObjectNavCodec),
}


def family_of(env_names: Iterable[str], where: str = "the training episodes") -> Family:
    """The one family of ``env_names`` (a :class:`FamilyMixError` listing each family's names otherwise)."""
    return FAMILIES[one_family(env_names, where, remedy="train one run per family")]


def load_episodes(sources: str | Sequence[str]) -> list[Episode]:
    """Every episode of the dataset folders ``sources``, checked to be of one family and, for navigation,
    to keep the per-step poses its codec reads (a :class:`DatasetError` naming the file otherwise)."""
    datasets = [EpisodeDataset(source) for source in ([sources] if isinstance(sources, str) else sources)]
    family = family_of(
        (name for dataset in datasets for name in dataset.env_names),
        where=f"the datasets {', '.join(str(d.file) for d in datasets)}",
    )
    for dataset in datasets:
        missing = sorted(set(family.step_info_keys) - set(dataset.step_info_keys))
        if missing:
            raise DatasetError(
                f"{dataset.file}: keeps no per-step {missing} (it keeps {dataset.step_info_keys}); "
                f"{family.name} training needs the agent pose at every step. Datasets keep it since "
                "format 2 (infos/steps): collect this dataset again with this uio-agent"
            )
    return [episode for dataset in datasets for episode in dataset]
