"""Trajectory datasets: recording, storage, reading.

``episode`` (the :class:`Episode` contract), ``storage`` (write / combine Minari datasets), ``reader``
(:class:`EpisodeDataset`, streaming), ``layout``, ``prompt_assets``, ``step_infos`` and ``exact_json``
(the on-disk format), ``errors``. Collection lives in ``agent/collect.py``. See docs/datasets.md.
"""
