"""Tucker-decomposition fusion of time-aligned audio and visual sequences (Appendix B).

Algorithm A1 builds per sample the tensor of per-step outer products
``X[n, t] = a_{n,t} ⊗ v_{n,t}``; Algorithm A2 projects it along the time, audio and visual modes
with ``A_T``, ``A_a``, ``A_v`` (Eq. A5) to the core ``G`` (N × K_t × K_a × K_v). Every slice of
``X`` is rank one, so the core factorises exactly::

    G[n, k, i, j] = Σ_t A_T[t, k] · (a_{n,t} A_a)[i] · (v_{n,t} A_v)[j]

and :class:`TuckerFusion` computes it that way, never building ``X``;
:func:`tucker_fusion_reference` keeps the literal A1 + A2 for tests and benchmarks. The model
itself reads the core through :class:`cmaf.models.TuckerFBP`, which never forms it. Eq. A5's
batch-mode factor ``A_N`` is not implemented: it would make each sample's fusion depend on the
other samples of its batch (replication notes, chapter 9, note 7).
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _check_pair(audio_seq: torch.Tensor, visual_seq: torch.Tensor) -> None:
    if audio_seq.dim() != 3 or visual_seq.dim() != 3:
        raise ValueError(
            "Tucker fusion expects audio_seq (N, T, D_a) and visual_seq (N, T, D_v), got "
            f"{tuple(audio_seq.shape)} and {tuple(visual_seq.shape)}"
        )
    if audio_seq.shape[:2] != visual_seq.shape[:2]:
        raise ValueError(
            "audio_seq and visual_seq must share batch and time (align the visual sequence "
            f"first), got {tuple(audio_seq.shape)} and {tuple(visual_seq.shape)}"
        )


def tucker_fusion_reference(
    audio_seq: torch.Tensor,
    visual_seq: torch.Tensor,
    factor_time: torch.Tensor,
    factor_audio: torch.Tensor,
    factor_visual: torch.Tensor,
) -> torch.Tensor:
    """Algorithms A1 + A2 done literally: build ``X``, then three n-mode products.

    ``audio_seq`` ``(N, T, D_a)`` and ``visual_seq`` ``(N, T, D_v)`` with the factors ``A_T``
    (T × K_t), ``A_a`` (D_a × K_a), ``A_v`` (D_v × K_v) give the core ``(N, K_t, K_a, K_v)``.
    """
    _check_pair(audio_seq, visual_seq)
    # Algorithm A1: X[n, t] = a_{n,t} v_{n,t}^T, every sample and time step (N × T × D_a × D_v).
    x = audio_seq.unsqueeze(-1) * visual_seq.unsqueeze(-2)
    # Algorithm A2, step 2a: mode-2 (temporal) product with A_T^T -> N × K_t × D_a × D_v.
    x1 = torch.einsum("ntav,tk->nkav", x, factor_time)
    # Step 2b: mode-3 (audio) product with A_a^T -> N × K_t × K_a × D_v.
    x2 = torch.einsum("nkav,ai->nkiv", x1, factor_audio)
    # Step 2c: mode-4 (visual) product with A_v^T -> N × K_t × K_a × K_v.
    return torch.einsum("nkiv,vj->nkij", x2, factor_visual)


class TuckerFusion(nn.Module):
    """Learnable Tucker fusion layer, equal to Algorithms A1 + A2 without materialising ``X``.

    ``time_steps`` is ``T_common`` (60); ``audio_dim`` and ``visual_dim`` are
    ``D_audio_per_timestep`` and ``D_image_per_frame`` after projection (256 each); ``ranks``
    are ``(K_time, K_audio, K_image)`` (30, 128, 128), each at most the size of its mode. The
    factors ``A_T``, ``A_a``, ``A_v`` are ``factor_time``, ``factor_audio``, ``factor_visual``.
    """

    def __init__(
        self,
        time_steps: int = 60,
        audio_dim: int = 256,
        visual_dim: int = 256,
        ranks: tuple[int, int, int] = (30, 128, 128),
    ) -> None:
        super().__init__()
        if len(ranks) != 3:
            raise ValueError(f"TuckerFusion needs three ranks (time, audio, visual), got {ranks}")
        for name, rank, size in zip(
            ("time", "audio", "visual"), ranks, (time_steps, audio_dim, visual_dim), strict=True
        ):
            if size < 1 or not 1 <= rank <= size:
                raise ValueError(
                    f"TuckerFusion: {name} rank {rank} must lie in 1..{size} (the {name} mode size)"
                )
        self.time_steps, self.audio_dim, self.visual_dim = time_steps, audio_dim, visual_dim
        self.ranks = tuple(ranks)
        self.factor_time = nn.Parameter(torch.empty(time_steps, ranks[0]))
        self.factor_audio = nn.Parameter(torch.empty(audio_dim, ranks[1]))
        self.factor_visual = nn.Parameter(torch.empty(visual_dim, ranks[2]))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Variance 1/fan-in per factor keeps the core at unit scale for unit-scale inputs.
        for factor in (self.factor_time, self.factor_audio, self.factor_visual):
            nn.init.normal_(factor, std=1.0 / math.sqrt(factor.shape[0]))

    def check_inputs(self, audio_seq: torch.Tensor, visual_seq: torch.Tensor) -> None:
        """Raise ``ValueError`` unless the sequences are ``(N, T, D_a)`` and ``(N, T, D_v)`` at
        this layer's sizes (also used by the fused head, :class:`cmaf.models.TuckerFBP`)."""
        _check_pair(audio_seq, visual_seq)
        expected = (self.time_steps, self.audio_dim)
        if tuple(audio_seq.shape[1:]) != expected or visual_seq.shape[2] != self.visual_dim:
            raise ValueError(
                f"TuckerFusion built for T={self.time_steps}, D_a={self.audio_dim}, "
                f"D_v={self.visual_dim}; got audio {tuple(audio_seq.shape)}, visual "
                f"{tuple(visual_seq.shape)}"
            )

    def forward(self, audio_seq: torch.Tensor, visual_seq: torch.Tensor) -> torch.Tensor:
        """Fuse ``(N, T, D_a)`` and ``(N, T, D_v)`` into the core ``(N, K_t, K_a, K_v)``."""
        self.check_inputs(audio_seq, visual_seq)
        # Project both sequences (one GEMM each over all N·T rows); audio goes to (N, K_a, T).
        audio_proj = (audio_seq @ self.factor_audio).transpose(1, 2).contiguous()
        visual_proj = visual_seq @ self.factor_visual  # (N, T, K_v)
        # Weight each time step by A_T[t, k]: (N, K_t, K_a, T), contiguous, then contract time
        # with the visual projection in one bmm per sample, (K_t·K_a × T) @ (T × K_v): faster on
        # CPU than a broadcast matmul over N·K_t small (K_a × T) @ (T × K_v) products, which
        # also copies the visual projection K_t times (see benchmarks/README.md).
        weighted = audio_proj.unsqueeze(1) * self.factor_time.t().contiguous().unsqueeze(1)
        n, k_t, k_a, t = weighted.shape
        core = torch.bmm(weighted.reshape(n, k_t * k_a, t), visual_proj)
        return core.view(n, k_t, k_a, visual_proj.shape[2])

    def extra_repr(self) -> str:
        return (
            f"time_steps={self.time_steps}, audio_dim={self.audio_dim}, "
            f"visual_dim={self.visual_dim}, ranks={self.ranks}"
        )
