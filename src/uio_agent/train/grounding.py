"""Prompt grounding: an auxiliary loss that teaches a from-scratch policy where the prompt's objects are.

A VIMA prompt shows objects as image crops (UIO-2's image history); the plan has to find those objects
in the scene. Trained from scratch on the plan alone, the network learns this crop-to-scene matching
very slowly: it places well but picks whichever object its priors favour. In a probe where the crop
was cut from the scene itself, 600 steps found the asked object 9.5% of the time without this loss
and 61.5% with it (benchmarks/RESULTS.md, "the prompt-grounding loss").

The loss supervises the matching directly. For every prompt frame that shows one scene object, the
frame's encoder outputs (its resampler latents, averaged) are scored against every scene patch's
encoder output by a scaled dot product, and the softmax over the patches is pulled towards the
patches the object covers (cross-entropy against the covered share of each patch).

It has no parameters and changes nothing at inference: it only shapes the encoder so that a prompt
crop and the patches of its object look alike. Off by default (``grounding_weight=0``), so the
official objective stays the official one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from uio_agent.codecs.vima import VimaCodec
from uio_agent.model.preprocess import patchify, resize_and_pad


def scene_object_id(asset: Mapping[str, Any], meta_info: Mapping[str, Any]) -> int | None:
    """The scene id of the object an ``"object"`` prompt asset shows: the one scene object with the
    asset's name and texture (VIMA's ``obj_info`` and ``obj_id_to_info``); None when there is no
    single such object (scene placeholders, neutral-coloured crops, look-alike objects)."""
    if asset.get("placeholder_type") != "object":
        return None
    info = asset.get("segm", {}).get("obj_info", {})
    if not isinstance(info, Mapping):
        return None
    wanted = (info.get("obj_name"), info.get("obj_color"))
    matches = [
        int(obj_id)
        for obj_id, obj in (meta_info.get("obj_id_to_info") or {}).items()
        if (obj.get("obj_name"), obj.get("texture_name")) == wanted
    ]
    return matches[0] if len(matches) == 1 else None


def patch_cover(mask: np.ndarray, size: tuple[int, int], patch_size: int) -> Tensor:
    """[P] share of each image-input patch an object's pixel ``mask`` (H, W) covers, after the same
    fit-and-pad as the image input."""
    image = np.repeat(np.asarray(mask, dtype=np.uint8)[None] * 255, 3, axis=0)
    pixels, _, _ = resize_and_pad([image], size, channels_last=False, name="object mask")
    return patchify(pixels[:, :1], patch_size)[0].mean(-1)


def prompt_object_cover(
    codec: VimaCodec, observation: Mapping[str, Any], info: Mapping[str, Any], meta_info: Mapping[str, Any]
) -> Tensor:
    """[F, P] target of each prompt frame (in prompt order) over the image-input patches of
    ``observation``: the covered share of each patch, summing to 1; all zeros for a frame without one
    visible scene object."""
    _, order = codec.prompt_text(info["prompt"])
    segm = codec.observation_segmentation(observation["segm"])
    pre = codec.preprocessor.config
    size = (pre.image_input_size[0] // pre.patch_size) * (pre.image_input_size[1] // pre.patch_size)
    cover = torch.zeros(len(order), size)
    for frame, name in enumerate(order):
        obj_id = scene_object_id(info["prompt_assets"][name], meta_info)
        mask = segm == obj_id if obj_id is not None else None
        if mask is None or not mask.any():
            continue
        share = patch_cover(mask, pre.image_input_size, pre.patch_size)
        cover[frame] = share / share.sum()
    return cover


def stack_covers(covers: Sequence[Tensor | None], frames: int, patches: int) -> Tensor:
    """[B, frames, patches]: each example's cover, zero-padded to the batch's frame count."""
    out = torch.zeros(len(covers), frames, patches)
    for row, cover in enumerate(covers):
        if cover is not None:
            out[row, : cover.shape[0]] = cover
    return out


def grounding_loss(
    hidden: Tensor, text_length: int, image_mask: Tensor, cover: Tensor, latents: int
) -> Tensor:
    """Mean over the frames with a target of the cross-entropy between the frame-to-patch softmax and
    the frame's cover.

    ``hidden`` [B, L, d] are encoder outputs laid out text (``text_length``), image patches
    (``image_mask`` [B, P]), then ``latents`` tokens per history frame; ``cover`` is [B, F, P].
    """
    b, _, d = hidden.shape
    frames, patches = cover.shape[1:]
    start = text_length + patches
    scene = hidden[:, text_length:start].float()
    prompt = hidden[:, start : start + frames * latents].float().reshape(b, frames, latents, d).mean(2)
    scores = torch.einsum("bfd,bpd->bfp", prompt, scene) / math.sqrt(d)
    scores = scores.masked_fill(image_mask[:, None, :] == 0, float("-inf"))
    log_probs = scores.log_softmax(-1)
    cover = cover.to(log_probs.device)
    nll = -torch.where(cover > 0, cover * log_probs, torch.zeros_like(log_probs)).sum(-1)
    valid = cover.sum(-1) > 0
    # a batch without targets still returns a graph-connected zero (DDP expects every rank's gradients)
    return (nll * valid).sum() / valid.sum().clamp(min=1)
