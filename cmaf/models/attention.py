"""Cross-modal multi-head attention (Section 2.2, Appendix A.3)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def align_time(sequence: torch.Tensor, steps: int) -> torch.Tensor:
    """Resample ``(N, T, D)`` to ``(N, steps, D)`` by linear interpolation along time.

    Appendix A.3: the visual sequence (90 steps) is aligned to the audio's ``T_common = 60``.
    ``align_corners=False`` treats each step as a bin covering an equal share of the clip, so the
    aligned step ``i`` covers the same stretch of time in both modalities.
    """
    if sequence.shape[1] == steps:
        return sequence
    return F.interpolate(
        sequence.transpose(1, 2), size=steps, mode="linear", align_corners=False
    ).transpose(1, 2)


class CrossModalAttention(nn.Module):
    """One direction of cross-modal attention: ``query`` attends to ``context``.

    Scaled dot-product multi-head attention (``dim`` 256, ``heads`` 4, Appendix A.3) with the
    query sequence as Q and the other modality as K and V; softmax rows sum to one over the
    context's time steps. The paper says the output keeps the query's shape and "re-weights"
    features but gives no further structure; we add the attended context to the query
    (residual) and layer-normalise, the standard Transformer block, so each modality keeps its
    own content enriched by the other's (Appendix A.3: "an audio sequence enriched with visual
    context").
    """

    def __init__(self, dim: int = 256, heads: int = 4, dropout: float = 0.0) -> None:
        super().__init__()
        self.attention = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm = nn.LayerNorm(dim)

    def forward(
        self, query: torch.Tensor, context: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the enriched query ``(N, Lq, dim)`` and weights ``(N, heads, Lq, Lk)``."""
        attended, weights = self.attention(
            query, context, context, need_weights=True, average_attn_weights=False
        )
        return self.norm(query + attended), weights
