"""Model contract tests: shapes at the paper's dimensions, Tucker equivalence, gradients."""

from __future__ import annotations

import pytest
import torch
import torchvision
from fixtures import tiny_cmaf_config as tiny_config

from cmaf.cli import main
from cmaf.models import (
    CMAF,
    AudioEncoder,
    AudioEncoderConfig,
    CMAFConfig,
    CrossModalAttention,
    FactorizedBilinearPooling,
    TuckerFusion,
    VisualEncoder,
    VisualEncoderConfig,
    align_time,
    imagenet_checkpoint_path,
    tucker_fusion_reference,
)
from cmaf.models.config import audio_output_steps


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    return float((actual - expected).norm() / expected.norm())


# --- Tucker fusion -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("batch", "time_steps", "audio_dim", "visual_dim", "ranks"),
    [
        (2, 60, 256, 256, (30, 128, 128)),  # the paper's sizes
        (3, 7, 5, 4, (2, 3, 4)),
        (1, 1, 3, 2, (1, 1, 1)),
        (4, 9, 6, 6, (9, 6, 6)),  # full ranks
        (2, 12, 10, 3, (5, 10, 2)),  # audio and visual widths differ
    ],
)
def test_tucker_equals_literal_algorithms_a1_a2(batch, time_steps, audio_dim, visual_dim, ranks):
    torch.manual_seed(0)
    layer = TuckerFusion(time_steps, audio_dim, visual_dim, ranks).double()
    audio = torch.randn(batch, time_steps, audio_dim, dtype=torch.float64)
    visual = torch.randn(batch, time_steps, visual_dim, dtype=torch.float64)
    fast = layer(audio, visual)
    literal = tucker_fusion_reference(
        audio, visual, layer.factor_time, layer.factor_audio, layer.factor_visual
    )
    assert fast.shape == (batch, *ranks)
    assert relative_error(fast, literal) < 1e-9


def test_tucker_reference_is_the_outer_product_projection():
    # An independent hand computation on a tiny case guards the reference itself.
    torch.manual_seed(1)
    a, v = torch.randn(1, 2, 3, dtype=torch.float64), torch.randn(1, 2, 2, dtype=torch.float64)
    ft, fa, fv = (torch.randn(*s, dtype=torch.float64) for s in ((2, 2), (3, 2), (2, 1)))
    expected = torch.zeros(1, 2, 2, 1, dtype=torch.float64)
    for k in range(2):
        for i in range(2):
            for j in range(1):
                for t in range(2):
                    for da in range(3):
                        for dv in range(2):
                            x = a[0, t, da] * v[0, t, dv]
                            expected[0, k, i, j] += x * ft[t, k] * fa[da, i] * fv[dv, j]
    assert relative_error(tucker_fusion_reference(a, v, ft, fa, fv), expected) < 1e-12


def test_tucker_samples_do_not_influence_each_other():
    torch.manual_seed(2)
    layer = TuckerFusion(60, 256, 256, (30, 128, 128)).double()
    audio = torch.randn(4, 60, 256, dtype=torch.float64)
    visual = torch.randn(4, 60, 256, dtype=torch.float64)
    before = layer(audio, visual)[0]
    audio[1:], visual[1:] = torch.randn_like(audio[1:]), torch.randn_like(visual[1:]) * 5
    after = layer(audio, visual)[0]
    alone = layer(audio[:1], visual[:1])[0]
    assert torch.allclose(before, after, rtol=1e-12, atol=0)
    assert torch.allclose(before, alone, rtol=1e-12, atol=0)


def test_tucker_factors_receive_gradients():
    layer = TuckerFusion(6, 5, 4, (3, 2, 2))
    layer(torch.randn(2, 6, 5), torch.randn(2, 6, 4)).square().sum().backward()
    for name in ("factor_time", "factor_audio", "factor_visual"):
        grad = getattr(layer, name).grad
        assert grad is not None and grad.abs().sum() > 0, name


@pytest.mark.parametrize("ranks", [(61, 128, 128), (30, 257, 128), (30, 128, 0), (30, 128)])
def test_tucker_rejects_impossible_ranks(ranks):
    with pytest.raises(ValueError, match="rank"):
        TuckerFusion(60, 256, 256, ranks)


def test_tucker_rejects_misaligned_sequences():
    layer = TuckerFusion(60, 256, 256)
    with pytest.raises(ValueError, match="align"):
        layer(torch.randn(1, 60, 256), torch.randn(1, 90, 256))


# --- encoders, attention, pooling ----------------------------------------------------------


def test_audio_encoder_paper_shape():
    encoder = AudioEncoder().eval()
    with torch.no_grad():
        out = encoder(torch.randn(2, 1, 128, 256))
    assert out.shape == (2, 60, 128)


@pytest.mark.parametrize("mel_frames", [64, 100, 256, 301])
def test_audio_output_steps_formula_matches_the_network(mel_frames):
    config = AudioEncoderConfig(n_mels=40, mel_frames=mel_frames, channels=(2, 2, 2, 2), out_dim=3)
    with torch.no_grad():
        out = AudioEncoder(config).eval()(torch.randn(1, 1, 40, mel_frames))
    assert out.shape[1] == audio_output_steps(mel_frames) == config.out_steps


def test_audio_encoder_rejects_wrong_input():
    with pytest.raises(ValueError, match="log-Mel"):
        AudioEncoder()(torch.randn(2, 128, 256))


def test_cross_attention_rows_sum_to_one_paper_dims():
    block = CrossModalAttention(256, 4).eval()
    with torch.no_grad():
        out, weights = block(torch.randn(3, 60, 256), torch.randn(3, 60, 256))
    assert out.shape == (3, 60, 256)
    assert weights.shape == (3, 4, 60, 60)
    assert torch.allclose(weights.sum(-1), torch.ones(3, 4, 60), atol=1e-5)
    assert (weights >= 0).all()


def test_align_time_resamples_a_ramp_linearly():
    ramp = torch.linspace(0, 1, 90).view(1, 90, 1).repeat(2, 1, 3)
    aligned = align_time(ramp, 60)
    assert aligned.shape == (2, 60, 3)
    assert torch.all(aligned[0, 1:, 0] > aligned[0, :-1, 0])  # order kept
    assert align_time(ramp, 90) is ramp


def test_fbp_shape_normalisation_and_gradients():
    pooling = FactorizedBilinearPooling((3, 4, 5), out_dim=7, factors=2, time_mixtures=2)
    core = torch.randn(2, 3, 4, 5)
    z = pooling(core)
    assert z.shape == (2, 7)
    assert torch.allclose(z.norm(dim=-1), torch.ones(2), atol=1e-5)
    z.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in pooling.parameters())


def test_frozen_backbone_gets_no_gradient_and_keeps_eval_mode():
    encoder = VisualEncoder(VisualEncoderConfig(image_size=32, gru_hidden=4, freeze_backbone=True))
    encoder.train()
    assert not encoder.backbone.training
    encoder(torch.randn(1, 3, 3, 32, 32)).sum().backward()
    assert all(p.grad is None for p in encoder.backbone.parameters())
    assert all(p.grad is not None for p in encoder.gru.parameters())


def test_frame_features_path_equals_frames_path():
    torch.manual_seed(3)
    model = CMAF(tiny_config()).eval()
    mel, frames = torch.randn(2, 1, 32, 40), torch.randn(2, 6, 3, 32, 32)
    with torch.no_grad():
        direct = model(mel, frames).logits
        features = model.visual_encoder.frame_features(frames)
        cached = model(mel, frame_features=features).logits
    assert torch.allclose(direct, cached, atol=1e-6)


# --- the whole network ---------------------------------------------------------------------


def test_tiny_model_learns_and_every_parameter_gets_gradient():
    torch.manual_seed(4)
    model = CMAF(tiny_config())
    out = model(torch.randn(3, 1, 32, 40), torch.randn(3, 6, 3, 32, 32), return_attention=True)
    assert out.logits.shape == (3, 5)
    torch.nn.functional.cross_entropy(out.logits, torch.tensor([0, 1, 2])).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not missing


@pytest.mark.slow
def test_paper_dimensions_forward_backward_on_cpu():
    """Batch 2, 90 frames of 224 × 224, log-Mel 128 × 256: the contract of Appendix A.4."""
    torch.manual_seed(5)
    model = CMAF(CMAFConfig())
    mel = torch.randn(2, 1, 128, 256)
    frames = torch.randn(2, 90, 3, 224, 224)
    out = model(mel, frames, return_attention=True)
    assert out.logits.shape == (2, 8)
    for direction in ("audio_to_visual", "visual_to_audio"):
        weights = out.attention[direction]
        assert weights.shape == (2, 4, 60, 60)
        assert torch.allclose(weights.sum(-1), torch.ones(2, 4, 60), atol=1e-5)
        assert out.attention_mean(direction).shape == (2, 60, 60)
    torch.nn.functional.cross_entropy(out.logits, torch.tensor([1, 6])).backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not no_grad, no_grad
    for name in ("factor_time", "factor_audio", "factor_visual"):
        assert getattr(model.tucker, name).grad.abs().sum() > 0


# --- configuration -------------------------------------------------------------------------


def test_default_config_is_the_papers():
    config = CMAFConfig()
    assert config.time_steps == 60
    assert (config.latent_dim, config.attention_heads) == (256, 4)
    assert config.tucker_ranks == (30, 128, 128)
    assert (config.fbp_dim, config.dropout) == (512, 0.5)
    assert (config.visual.num_frames, config.visual.image_size, config.visual.out_dim) == (
        90,
        224,
        512,
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tucker_ranks": (61, 128, 128)}, "time rank 61"),
        ({"tucker_ranks": (30, 300, 128)}, "audio rank 300"),
        ({"latent_dim": 250}, "not divisible"),
        ({"num_classes": 0}, "num_classes"),
        ({"dropout": 1.5}, "dropout"),
        ({"audio": AudioEncoderConfig(mel_frames=8)}, "too small"),
        ({"visual": VisualEncoderConfig(weights="imagenet21k")}, "weights"),
    ],
)
def test_config_rejects_impossible_dimensions(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CMAFConfig(**kwargs)


def test_config_round_trips_and_rejects_unknown_keys_and_types():
    config = CMAFConfig(num_classes=6)
    assert CMAFConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown key"):
        CMAFConfig.from_dict({"num_clases": 6})
    with pytest.raises(ValueError, match=r"audio\.n_mel"):
        CMAFConfig.from_dict({"audio": {"n_mel": 64}})
    with pytest.raises(ValueError, match="num_classes must be int"):
        CMAFConfig.from_dict({"num_classes": "8"})


# --- ImageNet weights, offline -------------------------------------------------------------


def test_imagenet_weights_missing_gives_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        VisualEncoder(VisualEncoderConfig(weights="imagenet"))
    message = str(info.value)
    assert "resnet18-f37072fd.pth" in message and "hub/checkpoints" in message
    assert "\n" not in message


def test_imagenet_weights_load_from_the_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    reference = torchvision.models.resnet18(weights=None)
    path = imagenet_checkpoint_path()
    path.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), path)
    encoder = VisualEncoder(VisualEncoderConfig(weights="imagenet"))
    assert torch.equal(encoder.backbone.conv1.weight, reference.conv1.weight)
    assert torch.equal(
        encoder.backbone.layer4[1].bn2.running_var, reference.layer4[1].bn2.running_var
    )


def test_block_parameters_cover_every_parameter_once():
    model = CMAF(tiny_config())
    assert sum(model.block_parameters().values()) == sum(p.numel() for p in model.parameters())


def test_summary_command_prints_every_block(capsys):
    assert main(["summary", "--frames", "4", "--image-size", "32", "--num-classes", "6"]) == 0
    out = capsys.readouterr().out
    assert "(1, 30, 128, 128)" in out and "(1, 60, 256)" in out and "(1, 6)" in out
    assert "total" in out
    assert main(["summary", "--num-classes", "0"]) == 2


def test_random_backbone_is_drawn_from_its_own_seed():
    import dataclasses

    from cmaf.models.baselines import VideoOnly

    cfg = VisualEncoderConfig(image_size=32, gru_hidden=4)
    torch.manual_seed(1)
    first = VisualEncoder(cfg)
    torch.manual_seed(2)
    torch.randn(10)  # other modules built first must not change it
    second = VideoOnly(CMAFConfig(fusion="video", visual=cfg)).visual_encoder
    theirs = second.backbone.state_dict()
    for name, mine in first.backbone.state_dict().items():
        assert torch.equal(mine, theirs[name]), name
    assert not torch.equal(first.gru.weight_ih_l0, second.gru.weight_ih_l0)  # trained part: seed
    other = VisualEncoder(dataclasses.replace(cfg, backbone_seed=1))
    assert not torch.equal(other.backbone.conv1.weight, first.backbone.conv1.weight)
