"""From-scratch priors: a position table that tells patches apart, location rows smooth over bins."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from uio_agent.model import UIOConfig, UIOModel
from uio_agent.model.tokenizer import LOCATION_START
from uio_agent.train.init import NUM_BINS, init_from_scratch, sincos_2d


def test_position_table_is_centred_sincos_that_separates_distant_patches() -> None:
    model = UIOModel(UIOConfig.preset("tiny"))
    init_from_scratch(model)
    vit = model.vision_transformer
    side = model.config.vit.pos_grid
    table = vit.positional_embedding[1:].detach()
    raw = sincos_2d(side, side, model.config.vit.emb_dim)
    assert torch.allclose(table.mean(0), torch.zeros(table.shape[1]), atol=1e-5)
    assert torch.isclose(table.norm(dim=1).mean(), raw.norm(dim=1).mean(), rtol=1e-4)
    grid = table.reshape(side, side, -1)
    far = F.cosine_similarity(grid[0, 0], grid[-1, -1], dim=0)
    near = F.cosine_similarity(grid[0, 0], grid[0, 1], dim=0)
    raw_far = F.cosine_similarity(raw[0], raw[-1], dim=0)
    assert far < raw_far and far < 0.5 < near
    assert torch.all(vit.positional_embedding[0] == 0)


def test_location_rows_are_smooth_over_bins() -> None:
    model = UIOModel(UIOConfig.preset("tiny"))
    init_from_scratch(model)
    rows = model.text_token_embedder.weight[LOCATION_START : LOCATION_START + NUM_BINS].detach()
    similarity = F.cosine_similarity(rows[500], rows, dim=1)
    assert similarity[499] > 0.8 and similarity[501] > 0.8
    assert similarity[499] > similarity[490] > similarity[400]
    assert similarity[:400].abs().max() < 0.5 and similarity[600:].abs().max() < 0.5
