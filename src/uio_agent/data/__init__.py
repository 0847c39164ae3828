"""Trajectory datasets: recording, storage, reading.

``episode`` (the :class:`Episode` contract), ``storage`` (write / combine Minari datasets), ``reader``
(:class:`EpisodeDataset`, streaming), ``collect`` (sharded, resumable collection), ``layout``,
``prompt_assets`` and ``exact_json`` (the on-disk format), ``errors``. See docs/datasets.md.
"""
