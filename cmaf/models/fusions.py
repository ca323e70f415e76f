"""Fusion layers of the baselines: tensor fusion, low-rank fusion and MUTAN.

Each takes one pooled vector per modality, ``audio (N, D_a)`` and ``visual (N, D_v)``, and
returns a fused vector ``(N, out_dim)`` for a classifier head (:mod:`cmaf.models.baselines`
wires them to CMAF's encoders). CMAF's own fusion (Tucker over time, then FBP) lives in
:mod:`cmaf.models.tucker` and :mod:`cmaf.models.pooling`.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _append_one(x: torch.Tensor) -> torch.Tensor:
    """``[x; 1]``: the constant lets the products keep each unimodal term (Zadeh et al. 2017)."""
    return torch.cat([x, x.new_ones(x.shape[0], 1)], dim=1)


class TensorFusion(nn.Module):
    """TFN (Zadeh et al. 2017, "Tensor Fusion Network for Multimodal Sentiment Analysis").

    ``z = vec([a; 1] ⊗ [v; 1])`` holds the unimodal features, the constant and every bimodal
    product; a linear layer with ReLU reads it::

        h = ReLU(W z + b),   z ∈ R^{(D_a + 1)(D_v + 1)}

    The outer product grows with ``D_a · D_v``, so the inputs are first projected to a few
    dimensions (:class:`cmaf.models.baselines.TensorFusionModel`).
    """

    def __init__(self, audio_dim: int, visual_dim: int, out_dim: int) -> None:
        super().__init__()
        self.audio_dim, self.visual_dim = audio_dim, visual_dim
        self.linear = nn.Linear((audio_dim + 1) * (visual_dim + 1), out_dim)

    @staticmethod
    def outer(audio: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
        """``vec([a; 1] ⊗ [v; 1])``, ``(N, (D_a + 1)(D_v + 1))``, audio index major."""
        return torch.einsum("ni,nj->nij", _append_one(audio), _append_one(visual)).flatten(1)

    def forward(self, audio: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.linear(self.outer(audio, visual)))


class LowRankFusion(nn.Module):
    """LMF (Liu et al. 2018, "Efficient Low-rank Multimodal Fusion with Modality-Specific Factors").

    TFN's weight tensor ``W ∈ R^{(D_a+1) × (D_v+1) × H}`` constrained to rank ``R``, applied
    without ever forming the outer product::

        h = Σ_r w_r · (A_r^T [a; 1]) ∘ (V_r^T [v; 1]) + b,   A_r ∈ R^{(D_a+1) × H}

    Every factor is a registered :class:`nn.Parameter`: some public implementations kept factors
    in plain tensors, which the optimiser never updates.
    """

    def __init__(self, audio_dim: int, visual_dim: int, out_dim: int, rank: int) -> None:
        super().__init__()
        self.rank = rank
        self.audio_factors = nn.Parameter(torch.empty(rank, audio_dim + 1, out_dim))
        self.visual_factors = nn.Parameter(torch.empty(rank, visual_dim + 1, out_dim))
        self.rank_weights = nn.Parameter(torch.empty(rank))
        self.bias = nn.Parameter(torch.zeros(out_dim))
        nn.init.xavier_normal_(self.audio_factors)
        nn.init.xavier_normal_(self.visual_factors)
        nn.init.constant_(self.rank_weights, 1.0 / math.sqrt(rank))

    def forward(self, audio: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
        fa = torch.einsum("ni,rio->rno", _append_one(audio), self.audio_factors)
        fv = torch.einsum("nj,rjo->rno", _append_one(visual), self.visual_factors)
        return torch.einsum("r,rno->no", self.rank_weights, fa * fv) + self.bias

    def full_weight(self) -> torch.Tensor:
        """The equivalent TFN weight ``W[i, j, o] = Σ_r w_r A_r[i, o] V_r[j, o]`` (for tests)."""
        return torch.einsum(
            "r,rio,rjo->ijo", self.rank_weights, self.audio_factors, self.visual_factors
        )


class MutanFusion(nn.Module):
    """MUTAN (Ben-younes et al. 2017, "MUTAN: Multimodal Tucker Fusion for VQA").

    A Tucker decomposition of the bilinear interaction of two *vectors*: each input is
    projected by its factor matrix with a tanh, and the core tensor is constrained to rank
    ``R``, which makes the product a sum of ``R`` element-wise products::

        ã = tanh(W_a a),  ṽ = tanh(W_v v),   z = Σ_r (U_r ã) ∘ (V_r ṽ)

    CMAF's Tucker fusion differs in fusing *sequences* (a third, temporal mode) rather than
    pooled vectors.
    """

    def __init__(
        self, audio_dim: int, visual_dim: int, proj_dim: int, out_dim: int, rank: int
    ) -> None:
        super().__init__()
        self.rank, self.out_dim = rank, out_dim
        self.audio_in = nn.Linear(audio_dim, proj_dim)
        self.visual_in = nn.Linear(visual_dim, proj_dim)
        self.audio_core = nn.Linear(proj_dim, out_dim * rank)
        self.visual_core = nn.Linear(proj_dim, out_dim * rank)

    def forward(self, audio: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
        a = torch.tanh(self.audio_in(audio))
        v = torch.tanh(self.visual_in(visual))
        products = self.audio_core(a) * self.visual_core(v)
        return products.view(-1, self.rank, self.out_dim).sum(dim=1)
