"""H.264 mp4 videos of episodes, with the prompt written above the frames (PyAV)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import cv2
import numpy as np

from uio_agent.agent.rollout import EpisodeResult

FPS = 2
BANNER_LINE = 14


def _banner(text: str, width: int) -> np.ndarray:
    lines = textwrap.wrap(text, max(20, width // 7)) or [""]
    banner = np.full((BANNER_LINE * len(lines) + 6, width, 3), 255, dtype=np.uint8)
    for k, line in enumerate(lines):
        cv2.putText(
            banner, line, (4, BANNER_LINE * (k + 1)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA
        )
    return banner


def write_episode_video(path: Path, result: EpisodeResult) -> Path:
    """Write the episode's frames (prompt banner on top, outcome in the last frame) as an mp4."""
    import av

    frames = result.frames or []
    if not frames:
        raise ValueError(f"episode {result.env_name} seed {result.seed} has no recorded frames")
    width = frames[0].shape[1]
    banner = _banner(result.prompt, width)
    outcome = _banner("success" if result.success else f"failure: {result.failure_reason or ''}", width)
    composed = [np.concatenate([banner, f], axis=0) for f in frames]
    composed.append(np.concatenate([banner, frames[-1], outcome], axis=0))  # the outcome, shown last
    total_h = max(c.shape[0] for c in composed)
    total_h += total_h % 2
    width += width % 2
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.mp4")
    with av.open(str(tmp), mode="w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, total_h, "yuv420p"
        for image in composed:
            canvas = np.full((total_h, width, 3), 255, dtype=np.uint8)
            canvas[: image.shape[0], : image.shape[1]] = image
            for packet in stream.encode(av.VideoFrame.from_ndarray(canvas, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    tmp.replace(path)
    return path
