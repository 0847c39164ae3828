"""Exceptions of the dataset package, each naming the file or option to fix."""

from __future__ import annotations


class DatasetError(RuntimeError):
    """A dataset file is missing, truncated, corrupt or not in the layout uio-agent writes."""


class CollectConfigError(ValueError):
    """A collection was restarted in an existing ``out`` folder with options that change its content."""
