"""Factorised bilinear pooling (FBP) of the Tucker core, and the classifier head (Appendix A.4).

The paper fuses the core "using a Factorized Bilinear Pooling (FBP) mechanism, generating a
unified feature vector of dimension N × 512" and says no more (replication notes, chapter 9,
note 8). We read FBP as MFB (Yu et al., 2017) defines it: each output unit sums ``k`` rank-one
bilinear forms, then sum-pooling, signed square root and L2 normalisation. The core is already
a bilinear (audio × visual) map per temporal component, so output unit ``j`` reads it as::

    z_j = Σ_r D[r, j] Σ_{i<k} u_{j,i}^T M_r v_{j,i},   M_r = Σ_κ C[κ, r] G[κ]

where the ``R`` learned temporal mixtures ``M_r`` (K_a × K_v) keep the time components apart
without a weight set per component. This module is the readout of a given core; the model
computes the same ``z`` from the sequences without the core (:class:`cmaf.models.TuckerFBP`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class FactorizedBilinearPooling(nn.Module):
    """MFB-style readout of a Tucker core ``(N, K_t, K_a, K_v)`` (``ranks``) to ``(N, out_dim)``
    (Appendix A.4: 512), with ``factors`` rank-one forms per output unit (MFB's ``k``),
    ``time_mixtures`` learned mixtures of the temporal components (``R``) and, if
    ``normalize``, MFB's signed square root and L2 normalisation."""

    def __init__(
        self,
        ranks: tuple[int, int, int] = (30, 128, 128),
        out_dim: int = 512,
        factors: int = 2,
        time_mixtures: int = 4,
        normalize: bool = True,
    ) -> None:
        super().__init__()
        k_time, k_audio, k_visual = ranks
        self.ranks, self.out_dim, self.factors = tuple(ranks), out_dim, factors
        self.normalize = normalize
        self.time_mix = nn.Parameter(torch.empty(k_time, time_mixtures))
        self.audio_factors = nn.Parameter(torch.empty(k_audio, out_dim * factors))
        self.visual_factors = nn.Parameter(torch.empty(k_visual, out_dim * factors))
        self.mixture_weights = nn.Parameter(torch.empty(time_mixtures, out_dim))
        for weight in self.parameters():  # the four factors above, in order
            nn.init.normal_(weight, std=1.0 / math.sqrt(weight.shape[0]))

    def forward(self, core: torch.Tensor) -> torch.Tensor:
        if core.dim() != 4 or tuple(core.shape[1:]) != self.ranks:
            raise ValueError(
                f"FactorizedBilinearPooling expects a core (N, {', '.join(map(str, self.ranks))}),"
                f" got {tuple(core.shape)}"
            )
        n = core.shape[0]
        mixed = torch.einsum("nkav,kr->nrav", core, self.time_mix)  # (N, R, K_a, K_v)
        projected = mixed @ self.visual_factors  # (N, R, K_a, J·k)
        bilinear = (projected * self.audio_factors).sum(dim=2)  # (N, R, J·k)
        pooled = bilinear.view(n, -1, self.out_dim, self.factors).sum(dim=-1)  # sum-pool over k
        z = (pooled * self.mixture_weights).sum(dim=1)  # (N, J)
        return signed_sqrt_l2(z) if self.normalize else z


def signed_sqrt_l2(z: torch.Tensor) -> torch.Tensor:
    """MFB's power and L2 normalisation of ``(N, J)`` bilinear features (Appendix A.4's FBP):
    ``sign(z) · sqrt(|z|)``, then each row scaled to unit length."""
    # Signed square root with a small offset so the gradient stays finite at zero.
    z = torch.sign(z) * (torch.sqrt(z.abs() + 1e-8) - 1e-4)
    return F.normalize(z, dim=-1)


class ClassifierHead(nn.Module):
    """Dropout (Table A1: 0.5) and a linear layer to the class logits (softmax is in the loss)."""

    def __init__(self, in_dim: int = 512, num_classes: int = 8, dropout: float = 0.5) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(in_dim, num_classes)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(self.dropout(features))
