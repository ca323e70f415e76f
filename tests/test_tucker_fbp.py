"""The fused Tucker–FBP head: equal to the core then FBP, and to the literal A1 + A2 then FBP."""

from __future__ import annotations

import copy
import importlib.util
import inspect
from pathlib import Path

import pytest
import torch
from fixtures import tiny_cmaf_config as tiny_config
from torch import nn

from cmaf.models import (
    CMAF,
    AudioEncoder,
    ClassifierHead,
    CMAFConfig,
    CrossModalAttention,
    FactorizedBilinearPooling,
    TuckerFBP,
    TuckerFusion,
    VisualEncoder,
)
from cmaf.models.model import encode_sequences

PAPER = CMAFConfig()
ROOT = Path(__file__).resolve().parents[1]


def paper_head(**overrides) -> TuckerFBP:
    """The head at the paper's sizes, FBP sized by ``CMAFConfig``'s defaults."""
    sizes = dict(
        time_steps=PAPER.time_steps,
        audio_dim=PAPER.latent_dim,
        visual_dim=PAPER.latent_dim,
        ranks=PAPER.tucker_ranks,
        out_dim=PAPER.fbp_dim,
        factors=PAPER.fbp_factors,
        time_mixtures=PAPER.fbp_time_mixtures,
    )
    return TuckerFBP(**{**sizes, **overrides})


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    return float((actual - expected).norm() / expected.norm())


def outputs_and_gradients(head: TuckerFBP, path: str, audio, visual, cotangent):
    """``path``'s output and the gradients of ⟨output, cotangent⟩ w.r.t. every parameter and
    both inputs."""
    head.zero_grad(set_to_none=True)
    audio = audio.detach().clone().requires_grad_(True)
    visual = visual.detach().clone().requires_grad_(True)
    out = getattr(head, path)(audio, visual)
    (out * cotangent).sum().backward()
    grads = {name: p.grad.detach().clone() for name, p in head.named_parameters()}
    grads["audio_seq"], grads["visual_seq"] = audio.grad, visual.grad
    return out.detach(), grads


def assert_paths_agree(head, audio, visual, paths=("forward", "unfused"), tol=1e-9):
    cotangent = torch.randn(audio.shape[0], head.fbp.out_dim, dtype=audio.dtype)
    (out_a, grads_a), (out_b, grads_b) = (
        outputs_and_gradients(head, path, audio, visual, cotangent) for path in paths
    )
    assert out_a.shape == (audio.shape[0], head.fbp.out_dim)
    errors = {"output": relative_error(out_a, out_b)}
    errors |= {name: relative_error(grads_a[name], grads_b[name]) for name in grads_b}
    assert set(errors) == {"output", "audio_seq", "visual_seq"} | {
        name for name, _ in head.named_parameters()
    }
    assert max(errors.values()) < tol, errors
    return errors


# --- equality --------------------------------------------------------------------------------


@pytest.mark.slow
def test_fused_equals_core_then_fbp_at_paper_sizes_gradients_included():
    torch.manual_seed(0)
    head = paper_head().double()
    audio = torch.randn(3, 60, 256, dtype=torch.float64)
    visual = torch.randn(3, 60, 256, dtype=torch.float64)
    errors = assert_paths_agree(head, audio, visual)
    assert len(errors) == 10  # output, 7 parameters, 2 inputs


@pytest.mark.slow
def test_fused_equals_literal_a1_a2_then_fbp_at_paper_sizes_gradients_included():
    torch.manual_seed(1)
    head = paper_head().double()
    audio = torch.randn(2, 60, 256, dtype=torch.float64)
    visual = torch.randn(2, 60, 256, dtype=torch.float64)
    assert_paths_agree(head, audio, visual, paths=("forward", "literal"))


@pytest.mark.parametrize(
    ("batch", "time_steps", "dims", "ranks", "out_dim", "factors", "mixtures", "normalize"),
    [
        (2, 7, (5, 4), (2, 3, 4), 6, 2, 3, True),  # R > K_t
        (3, 7, (5, 4), (2, 3, 4), 6, 2, 3, False),  # the linear part alone
        (1, 1, (3, 2), (1, 1, 1), 1, 1, 1, False),
        (4, 9, (6, 6), (9, 6, 6), 5, 3, 9, True),  # full ranks, k = 3, R = K_t
        (2, 12, (10, 3), (5, 10, 2), 4, 1, 1, True),  # one factor, one mixture
    ],
)
def test_fused_equals_both_paths_at_small_sizes(
    batch, time_steps, dims, ranks, out_dim, factors, mixtures, normalize
):
    torch.manual_seed(2)
    head = TuckerFBP(time_steps, *dims, ranks, out_dim, factors, mixtures, normalize).double()
    audio = torch.randn(batch, time_steps, dims[0], dtype=torch.float64)
    visual = torch.randn(batch, time_steps, dims[1], dtype=torch.float64)
    assert_paths_agree(head, audio, visual, paths=("forward", "unfused"))
    assert_paths_agree(head, audio, visual, paths=("forward", "literal"))


def test_time_weights_are_the_products_of_the_time_factors():
    head = TuckerFBP(6, 4, 4, (3, 2, 2), out_dim=5, factors=2, time_mixtures=2).double()
    t, f = head.tucker, head.fbp
    expected = torch.einsum("tk,kr,rj->tj", t.factor_time, f.time_mix, f.mixture_weights)
    assert torch.allclose(head.time_weights(), expected, rtol=1e-12, atol=0)
    assert head.time_weights().shape == (6, 5)


def test_fused_samples_do_not_influence_each_other():
    torch.manual_seed(3)
    head = TuckerFBP(8, 6, 5, (4, 3, 3), out_dim=7, factors=2, time_mixtures=2).double()
    audio, visual = torch.randn(4, 8, 6, dtype=torch.float64), torch.randn(4, 8, 5).double()
    before = head(audio, visual)[0]
    audio[1:], visual[1:] = torch.randn_like(audio[1:]), 5 * torch.randn_like(visual[1:])
    assert torch.allclose(head(audio, visual)[0], before, rtol=1e-12, atol=0)
    assert torch.allclose(head(audio[:1], visual[:1])[0], before, rtol=1e-12, atol=0)


def test_fused_float32_output_is_unit_length_and_close_to_the_core_path():
    torch.manual_seed(4)
    head = TuckerFBP(10, 8, 8, (5, 4, 4), out_dim=6, factors=2, time_mixtures=2)
    audio, visual = torch.randn(3, 10, 8), torch.randn(3, 10, 8)
    fused = head(audio, visual)
    assert torch.allclose(fused.norm(dim=-1), torch.ones(3), atol=1e-5)
    assert torch.allclose(fused, head.unfused(audio, visual), atol=1e-5)


# --- contract --------------------------------------------------------------------------------


def test_contract_signature_submodules_and_core():
    params = list(inspect.signature(TuckerFBP).parameters)
    assert params == [
        "time_steps",
        "audio_dim",
        "visual_dim",
        "ranks",
        "out_dim",
        "factors",
        "time_mixtures",
        "normalize",
    ]
    head = TuckerFBP(5, 4, 3, (2, 3, 2), 6, 2, 3, False)
    assert isinstance(head.tucker, TuckerFusion)
    assert isinstance(head.fbp, FactorizedBilinearPooling)
    assert head.fbp.normalize is False and head.fbp.factors == 2 and head.fbp.out_dim == 6
    assert set(head.state_dict()) == {
        "tucker.factor_time",
        "tucker.factor_audio",
        "tucker.factor_visual",
        "fbp.time_mix",
        "fbp.audio_factors",
        "fbp.visual_factors",
        "fbp.mixture_weights",
    }
    audio, visual = torch.randn(2, 5, 4), torch.randn(2, 5, 3)
    assert torch.equal(head.core(audio, visual), head.tucker(audio, visual))
    assert head.core(audio, visual).shape == (2, 2, 3, 2)


def test_defaults_are_the_papers():
    head = TuckerFBP()
    assert (head.tucker.time_steps, head.tucker.audio_dim, head.tucker.visual_dim) == (60, 256, 256)
    assert head.tucker.ranks == PAPER.tucker_ranks
    assert (head.fbp.out_dim, head.fbp.factors, head.fbp.time_mix.shape[1]) == (
        PAPER.fbp_dim,
        PAPER.fbp_factors,
        PAPER.fbp_time_mixtures,
    )


def test_same_initial_weights_as_the_two_modules_built_in_order():
    # CMAF built TuckerFusion, then FBP: a seed must still give the same initial weights.
    torch.manual_seed(5)
    head = TuckerFBP(6, 5, 4, (3, 2, 2), 7, 2, 3)
    torch.manual_seed(5)
    tucker = TuckerFusion(6, 5, 4, (3, 2, 2))
    fbp = FactorizedBilinearPooling((3, 2, 2), 7, 2, 3)
    old = {f"tucker.{k}": v for k, v in tucker.state_dict().items()}
    old |= {f"fbp.{k}": v for k, v in fbp.state_dict().items()}
    assert old.keys() == head.state_dict().keys()
    assert all(torch.equal(v, head.state_dict()[k]) for k, v in old.items())


def test_from_modules_shares_parameters_and_checks_ranks():
    tucker, fbp = TuckerFusion(6, 5, 4, (3, 2, 2)), FactorizedBilinearPooling((3, 2, 2), 7)
    head = TuckerFBP.from_modules(tucker, fbp)
    assert head.tucker is tucker and head.fbp is fbp
    assert sum(p.numel() for p in head.parameters()) == sum(
        p.numel() for m in (tucker, fbp) for p in m.parameters()
    )
    with pytest.raises(ValueError, match="core of shape"):
        TuckerFBP.from_modules(tucker, FactorizedBilinearPooling((3, 2, 3), 7))


def test_fused_rejects_misaligned_or_wrong_sized_sequences():
    head = TuckerFBP(6, 5, 4, (3, 2, 2), 7)
    with pytest.raises(ValueError, match="align"):
        head(torch.randn(1, 6, 5), torch.randn(1, 9, 4))
    with pytest.raises(ValueError, match="built for"):
        head(torch.randn(1, 6, 5), torch.randn(1, 6, 3))


# --- CMAF uses the head; its checkpoints keep their keys --------------------------------------


class OldCMAF(nn.Module):
    """CMAF's module tree before the fused head, built from the old modules directly, with
    its old forward: the core, then FBP's readout of it."""

    def __init__(self, config: CMAFConfig) -> None:
        super().__init__()
        self.audio_encoder = AudioEncoder(config.audio)
        self.visual_encoder = VisualEncoder(config.visual)
        self.audio_projection = nn.Linear(config.audio.out_dim, config.latent_dim)
        self.visual_projection = nn.Linear(config.visual.out_dim, config.latent_dim)
        self.audio_attends_visual = CrossModalAttention(config.latent_dim, config.attention_heads)
        self.visual_attends_audio = CrossModalAttention(config.latent_dim, config.attention_heads)
        self.tucker = TuckerFusion(
            config.time_steps, config.latent_dim, config.latent_dim, config.tucker_ranks
        )
        self.pooling = FactorizedBilinearPooling(
            config.tucker_ranks, config.fbp_dim, config.fbp_factors, config.fbp_time_mixtures
        )
        self.classifier = ClassifierHead(config.fbp_dim, config.num_classes, config.dropout)

    def forward(self, mel, frames):
        audio_seq, visual_seq = encode_sequences(self, mel, frames)
        audio_att, _ = self.audio_attends_visual(audio_seq, visual_seq)
        visual_att, _ = self.visual_attends_audio(visual_seq, audio_seq)
        return self.classifier(self.pooling(self.tucker(audio_att, visual_att)))


def test_old_checkpoint_loads_with_identical_keys_and_gives_the_same_logits():
    torch.manual_seed(6)
    config = tiny_config()
    old = OldCMAF(config).double().eval()
    old_state = old.state_dict()
    model = CMAF(config).double().eval()
    assert list(model.state_dict()) == list(old_state)  # same keys, same order
    model.load_state_dict(old_state, strict=True)
    mel, frames = torch.randn(2, 1, 32, 40).double(), torch.randn(2, 6, 3, 32, 32).double()
    with torch.no_grad():
        expected = old(mel, frames)
        logits = model(mel, frames).logits
    assert relative_error(logits, expected) < 1e-9
    # And a checkpoint saved by the new model loads into the old structure.
    OldCMAF(config).load_state_dict(model.state_dict(), strict=True)


def test_cmaf_head_shares_the_registered_modules():
    model = CMAF(tiny_config())
    assert isinstance(model.tucker_fbp, TuckerFBP)
    assert model.tucker_fbp.tucker is model.tucker and model.tucker_fbp.fbp is model.pooling
    assert "tucker_fbp" not in dict(model.named_children())
    names = [name for name, _ in model.named_parameters()]
    assert len(names) == len(set(names))
    assert not [key for key in model.state_dict() if key.startswith("tucker_fbp")]
    twin = copy.deepcopy(model)
    assert twin.tucker_fbp.tucker is twin.tucker and twin.tucker is not model.tucker
    model.double()  # conversions reach the head through the shared modules
    assert model.tucker_fbp.tucker.factor_time.dtype == torch.float64


def test_cmaf_stages_show_the_core_and_the_fused_features():
    torch.manual_seed(7)
    model = CMAF(tiny_config()).double().eval()
    mel, frames = torch.randn(2, 1, 32, 40).double(), torch.randn(2, 6, 3, 32, 32).double()
    with torch.no_grad():
        out = model(mel, frames, return_stages=True)
        plain = model(mel, frames).logits
        core = out.stages["tucker_core"]
        readout = model.pooling(core)
    assert core.shape == (2, 3, 5, 6)
    assert relative_error(out.stages["fbp"], readout) < 1e-9
    assert torch.equal(out.logits, plain)


# --- the benchmark's arithmetic (never its timings) ------------------------------------------


def test_benchmark_head_mac_counts_and_sizes():
    spec = importlib.util.spec_from_file_location("_bench_tucker", ROOT / "benchmarks/tucker.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    sizes = bench.paper_head_sizes()
    assert sizes == {"out_dim": 512, "factors": 2, "time_mixtures": 4}
    assert (sizes["out_dim"], sizes["factors"], sizes["time_mixtures"]) == (
        PAPER.fbp_dim,
        PAPER.fbp_factors,
        PAPER.fbp_time_mixtures,
    )
    macs = bench.head_mac_counts(60, 256, 256, (30, 128, 128), **sizes)
    # FBP on a core: temporal mixtures, M_r V, products with U summed over K_a, weights W.
    fbp = 30 * 4 * 128 * 128 + 4 * 128 * 128 * 1024 + 4 * 128 * 1024 + 4 * 512
    core = bench.mac_counts(60, 256, 256, (30, 128, 128))
    # fused: both two-step projections, then Q_a · E · Q_v (two products per value).
    fused = 2 * (60 * 256 * 128 + 60 * 128 * 1024) + 2 * 60 * 1024
    assert macs == {
        "literal": core["literal"] + fbp,
        "factorised": core["factorised"] + fbp,
        "fused": fused,
    }
    assert macs == {"literal": 568_985_600, "factorised": 103_255_040, "fused": 19_783_680}
