"""Fusion baselines and ablations: shapes, gradients, TFN / LMF / MUTAN against hand computation.

Small for testing speed: tiny encoders (the logic, not the paper's sizes, is the point here).
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from cmaf.models.baselines import MODELS, CMAFNoAttention, CMAFNoGRU, build_model
from cmaf.models.config import FUSIONS, AudioEncoderConfig, CMAFConfig, VisualEncoderConfig
from cmaf.models.fusions import LowRankFusion, MutanFusion, TensorFusion


def tiny_config(fusion: str) -> CMAFConfig:
    return CMAFConfig(
        audio=AudioEncoderConfig(n_mels=32, mel_frames=32, channels=(2, 4, 4, 4), out_dim=8),
        visual=VisualEncoderConfig(num_frames=3, image_size=32, gru_hidden=4),
        latent_dim=8,
        attention_heads=2,
        tucker_ranks=(2, 3, 3),
        fbp_dim=6,
        fbp_factors=1,
        fbp_time_mixtures=1,
        dropout=0.0,  # every unit reaches the loss, so every parameter must get a gradient
        num_classes=5,
        fusion=fusion,
        baselines=dataclasses.replace(
            CMAFConfig().baselines, tfn_dim=3, tfn_hidden=5, lmf_dim=4, mutan_dim=4
        ),
    )


def test_every_fusion_name_has_a_model():
    assert set(MODELS) == set(FUSIONS)
    with pytest.raises(ValueError, match="fusion"):
        tiny_config("concat")
    with pytest.raises(ValueError, match="temporal"):
        CMAFConfig(visual=VisualEncoderConfig(temporal="lstm"))
    with pytest.raises(ValueError, match=r"baselines\.lmf_rank"):
        CMAFConfig(baselines=dataclasses.replace(CMAFConfig().baselines, lmf_rank=0))


@pytest.mark.parametrize("fusion", FUSIONS)
def test_shapes_and_every_parameter_gets_a_gradient(fusion):
    torch.manual_seed(0)
    config = tiny_config(fusion)
    model = build_model(config)
    assert isinstance(model, MODELS[fusion])
    mel = torch.randn(3, 1, 32, 32)
    frames = torch.randn(3, 3, 3, 32, 32)
    out = model(mel, frames)
    assert out.logits.shape == (3, 5)
    out.logits.square().sum().backward()
    missing = [
        name
        for name, p in model.named_parameters()
        if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)
    ]
    assert not missing, f"{fusion}: no gradient for {missing}"
    # Cached frame features give the same logits as the frames they came from.
    model.eval()
    with torch.no_grad():
        if hasattr(model, "visual_encoder"):
            features = model.visual_encoder.frame_features(frames)
            torch.testing.assert_close(
                model(mel, frame_features=features).logits, model(mel, frames).logits
            )


@pytest.mark.parametrize("fusion", FUSIONS)
def test_auxiliary_unimodal_heads_train_and_leave_test_outputs_alone(fusion):
    """With unimodal_aux_weight > 0 every model with both encoders gets one head per modality:
    in training mode they return logits and every parameter (theirs included) gets a gradient
    from the training loss; in eval mode they return nothing and the logits are those of the
    same model without heads (given the same weights)."""
    from cmaf.training.loop import training_loss

    torch.manual_seed(0)
    model = build_model(dataclasses.replace(tiny_config(fusion), unimodal_aux_weight=0.5))
    torch.manual_seed(0)
    plain = build_model(tiny_config(fusion))
    has_both = hasattr(model, "audio_encoder") and hasattr(model, "visual_encoder")
    assert hasattr(model, "aux_heads") == has_both
    # Eight clips, so that no tiny ReLU layer is dead for the whole batch.
    mel, frames = torch.randn(8, 1, 32, 32), torch.randn(8, 3, 3, 32, 32)
    target = torch.arange(8) % 5
    out = model(mel, frames)
    assert set(out.aux_logits) == ({"audio", "visual"} if has_both else set())
    for logits in out.aux_logits.values():
        assert logits.shape == (8, 5)
    training_loss(out, target, 0.5).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert not missing, f"{fusion}: no gradient for {missing}"
    if not has_both:
        return
    model.eval()
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if "aux_heads" not in k})
    plain.eval()
    with torch.no_grad():
        evaluated = model(mel, frames)
        assert evaluated.aux_logits == {}
        torch.testing.assert_close(evaluated.logits, plain(mel, frames).logits)


def test_training_loss_adds_the_weighted_mean_of_the_auxiliary_losses():
    from cmaf.models.model import CMAFOutput
    from cmaf.training.loop import training_loss

    target = torch.tensor([1, 0])
    fused = torch.tensor([[0.0, 2.0], [1.0, 1.0]])
    audio = torch.tensor([[3.0, 0.0], [0.0, 0.0]])
    visual = torch.tensor([[0.0, 0.0], [0.0, 5.0]])

    def ce(logits):  # by hand: -log softmax of the target, averaged over the batch
        rows = [torch.logsumexp(row, 0) - row[t] for row, t in zip(logits, target, strict=True)]
        return torch.stack(rows).mean()

    out = CMAFOutput(logits=fused, aux_logits={"audio": audio, "visual": visual})
    expected = ce(fused) + 0.5 * (ce(audio) + ce(visual)) / 2
    torch.testing.assert_close(training_loss(out, target, 0.5), expected)
    torch.testing.assert_close(training_loss(out, target, 0.0), ce(fused))
    torch.testing.assert_close(training_loss(CMAFOutput(logits=fused), target, 0.5), ce(fused))
    with pytest.raises(ValueError, match="unimodal_aux_weight"):
        dataclasses.replace(tiny_config("cmaf"), unimodal_aux_weight=-1.0)
    with pytest.raises(ValueError, match="unimodal_aux_weight"):
        dataclasses.replace(tiny_config("cmaf"), unimodal_aux_weight=float("nan"))


def test_ablations_remove_what_they_name():
    no_attention = CMAFNoAttention(tiny_config("cmaf-no-attention"))
    assert not hasattr(no_attention, "audio_attends_visual")
    no_gru = CMAFNoGRU(tiny_config("cmaf-no-gru"))
    assert no_gru.visual_encoder.gru is None and no_gru.visual_encoder.frame_linear is not None
    assert build_model(tiny_config("cmaf")).visual_encoder.gru is not None


def test_tfn_matches_a_hand_computed_outer_product():
    a = torch.tensor([[1.0, 2.0]])
    v = torch.tensor([[3.0]])
    # [a; 1] = (1, 2, 1), [v; 1] = (3, 1): the audio index varies slowest.
    assert TensorFusion.outer(a, v).tolist() == [[3.0, 1.0, 6.0, 2.0, 3.0, 1.0]]
    tfn = TensorFusion(2, 1, 2)
    with torch.no_grad():
        tfn.linear.weight.copy_(torch.tensor([[1.0, 0, 0, 0, 0, 0], [0, 0, -1.0, 0, 0, 0]]))
        tfn.linear.bias.copy_(torch.tensor([0.5, 1.0]))
    # unit 0: 3 + 0.5; unit 1: ReLU(-6 + 1) = 0
    assert tfn(a, v).tolist() == [[3.5, 0.0]]


def test_lmf_matches_its_formula_and_the_equivalent_tfn():
    torch.manual_seed(1)
    lmf = LowRankFusion(audio_dim=2, visual_dim=3, out_dim=4, rank=2)
    with torch.no_grad():
        lmf.rank_weights.copy_(torch.tensor([0.5, -2.0]))
        lmf.bias.copy_(torch.tensor([0.1, 0.2, 0.3, 0.4]))
    a, v = torch.randn(5, 2), torch.randn(5, 3)
    out = lmf(a, v)
    a1 = torch.cat([a, torch.ones(5, 1)], 1)
    v1 = torch.cat([v, torch.ones(5, 1)], 1)
    expected = torch.zeros(5, 4)
    for n in range(5):
        for o in range(4):
            total = 0.0
            for r in range(2):
                fa = sum(a1[n, i] * lmf.audio_factors[r, i, o] for i in range(3))
                fv = sum(v1[n, j] * lmf.visual_factors[r, j, o] for j in range(4))
                total += lmf.rank_weights[r] * fa * fv
            expected[n, o] = total + lmf.bias[o]
    torch.testing.assert_close(out, expected)
    # The same map as TFN's linear layer with the rank-2 weight tensor (before its ReLU).
    tfn = TensorFusion(2, 3, 4)
    with torch.no_grad():
        tfn.linear.weight.copy_(lmf.full_weight().reshape(12, 4).T)
        tfn.linear.bias.copy_(lmf.bias)
    torch.testing.assert_close(tfn.linear(TensorFusion.outer(a, v)), out)


def test_lmf_factors_are_registered_and_trained():
    lmf = LowRankFusion(2, 2, 3, rank=2)
    names = {name for name, _ in lmf.named_parameters()}
    assert names == {"audio_factors", "visual_factors", "rank_weights", "bias"}
    before = {name: p.detach().clone() for name, p in lmf.named_parameters()}
    optimizer = torch.optim.SGD(lmf.parameters(), lr=0.1)
    lmf(torch.randn(4, 2), torch.randn(4, 2)).square().sum().backward()
    optimizer.step()
    assert all(not torch.equal(before[n], p) for n, p in lmf.named_parameters())


def test_mutan_is_a_sum_of_rank_one_products():
    torch.manual_seed(2)
    mutan = MutanFusion(audio_dim=3, visual_dim=2, proj_dim=4, out_dim=5, rank=3)
    a, v = torch.randn(2, 3), torch.randn(2, 2)
    ta, tv = torch.tanh(mutan.audio_in(a)), torch.tanh(mutan.visual_in(v))
    wa = mutan.audio_core.weight.view(3, 5, 4)
    wv = mutan.visual_core.weight.view(3, 5, 4)
    ba, bv = mutan.audio_core.bias.view(3, 5), mutan.visual_core.bias.view(3, 5)
    expected = sum((ta @ wa[r].T + ba[r]) * (tv @ wv[r].T + bv[r]) for r in range(3))
    torch.testing.assert_close(mutan(a, v), expected)
