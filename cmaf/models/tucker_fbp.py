"""Tucker fusion and FBP as one head, without the core (Appendix B, Eq. A5; Appendix A.4).

The model's fusion is Algorithms A1 + A2 (the core ``G``, :mod:`cmaf.models.tucker`) followed
by the FBP readout (:mod:`cmaf.models.pooling`). Everything before FBP's signed square root is
linear in ``G``, and ``G`` is a sum over time of rank-one products, so the two collapse into::

    y[n, j] = Σ_t E[t, j] · Σ_{i<k} Q_a[n, t, j·k+i] · Q_v[n, t, j·k+i],   E = A_T C W

with ``Q_a = a A_a U`` and ``Q_v = v A_v V`` (``N × T × J·k``; ``C``, ``U``, ``V``, ``W`` are
FBP's ``time_mix``, ``audio_factors``, ``visual_factors``, ``mixture_weights``): a low-rank
(MFB) bilinear pooling of each time step's pair ``(a_t, v_t)``, summed over time with one weight
per step and output unit. The replication notes (chapter 9, "What Tucker + FBP computes")
derive it; ``tests/test_tucker_fbp.py`` checks it equal to both other paths, gradients included,
and ``benchmarks/tucker.py`` measures the three.
"""

from __future__ import annotations

import torch
from torch import nn

from cmaf.models.pooling import FactorizedBilinearPooling, signed_sqrt_l2
from cmaf.models.tucker import TuckerFusion, tucker_fusion_reference


class TuckerFBP(nn.Module):
    """Tucker fusion (Algorithms A1 + A2, Eq. A5) and FBP (Appendix A.4) as one head.

    ``forward`` computes the FBP features from the two sequences directly; ``core`` returns
    the Tucker core for analysis. ``time_steps``, ``audio_dim``, ``visual_dim`` and ``ranks``
    are those of :class:`~cmaf.models.tucker.TuckerFusion` (held as ``tucker``: ``A_T``,
    ``A_a``, ``A_v``); ``out_dim``, ``factors``, ``time_mixtures`` and ``normalize`` those of
    :class:`~cmaf.models.pooling.FactorizedBilinearPooling` (held as ``fbp``).
    """

    def __init__(
        self,
        time_steps: int = 60,
        audio_dim: int = 256,
        visual_dim: int = 256,
        ranks: tuple[int, int, int] = (30, 128, 128),
        out_dim: int = 512,
        factors: int = 2,
        time_mixtures: int = 4,
        normalize: bool = True,
    ) -> None:
        super().__init__()
        # Tucker's factors are drawn before FBP's, the order in which CMAF built the two
        # modules before this head existed: a seed gives the same initial weights as then.
        self.tucker = TuckerFusion(time_steps, audio_dim, visual_dim, ranks)
        self.fbp = FactorizedBilinearPooling(
            self.tucker.ranks, out_dim, factors, time_mixtures, normalize
        )

    @classmethod
    def from_modules(cls, tucker: TuckerFusion, fbp: FactorizedBilinearPooling) -> TuckerFBP:
        """A head over existing modules: their parameters are shared, not copied."""
        if tuple(tucker.ranks) != tuple(fbp.ranks):
            raise ValueError(
                f"TuckerFBP: the FBP reads a core of shape {tuple(fbp.ranks)}, but the Tucker "
                f"layer makes {tuple(tucker.ranks)}"
            )
        head = cls.__new__(cls)
        nn.Module.__init__(head)
        head.tucker, head.fbp = tucker, fbp
        return head

    def time_weights(self) -> torch.Tensor:
        """``E = A_T C W`` (``T × J``): the weight of time step ``t`` in output unit ``j``."""
        return self.tucker.factor_time @ self.fbp.time_mix @ self.fbp.mixture_weights

    def forward(self, audio_seq: torch.Tensor, visual_seq: torch.Tensor) -> torch.Tensor:
        """FBP features ``(N, out_dim)`` of ``(N, T, D_a)`` and ``(N, T, D_v)``, core never formed
        (the module's ``y``, then MFB's normalisation): equal to ``self.unfused(...)``."""
        tucker, fbp = self.tucker, self.fbp
        tucker.check_inputs(audio_seq, visual_seq)
        n = audio_seq.shape[0]
        # Each modality goes to the Tucker rank first, then to the J·k MFB factors (two GEMMs
        # over all N·T rows): T·K·(D + J·k) multiply-accumulates per sample, fewer than
        # T·D·J·k through the product A_a U, and no intermediate larger than N × T × J·k.
        q_audio = (audio_seq @ tucker.factor_audio) @ fbp.audio_factors
        q_visual = (visual_seq @ tucker.factor_visual) @ fbp.visual_factors
        # Column m = j·k + i of the factors belongs to output unit j: repeat E's columns k
        # times to line up, weight, and sum over time (dim 1) before pooling the k factors.
        weights = self.time_weights().repeat_interleave(fbp.factors, dim=1)  # (T, J·k)
        y = (q_audio * weights * q_visual).sum(dim=1)  # (N, J·k)
        y = y.view(n, fbp.out_dim, fbp.factors).sum(dim=-1)  # MFB sum-pooling over k
        return signed_sqrt_l2(y) if fbp.normalize else y

    def core(self, audio_seq: torch.Tensor, visual_seq: torch.Tensor) -> torch.Tensor:
        """The Tucker core ``(N, K_t, K_a, K_v)`` of Algorithms A1 + A2 (for analysis)."""
        return self.tucker(audio_seq, visual_seq)

    def unfused(self, audio_seq: torch.Tensor, visual_seq: torch.Tensor) -> torch.Tensor:
        """The two-step path: the factorised core, then FBP's readout of it."""
        return self.fbp(self.tucker(audio_seq, visual_seq))

    def literal(self, audio_seq: torch.Tensor, visual_seq: torch.Tensor) -> torch.Tensor:
        """Algorithms A1 + A2 done literally (the 4-D tensor ``X``, three n-mode products),
        then FBP: the reference for tests and benchmarks."""
        t = self.tucker
        core = tucker_fusion_reference(
            audio_seq, visual_seq, t.factor_time, t.factor_audio, t.factor_visual
        )
        return self.fbp(core)
