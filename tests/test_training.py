"""Training loop: learning, run directory, kill-and-resume, divergence, safety, DDP, configs."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from cmaf.cli import main
from cmaf.data.augment import AugmentConfig
from cmaf.data.splits import Split
from cmaf.models import CMAF
from cmaf.training.checkpoint import load_checkpoint
from cmaf.training.config import (
    CPU_DEVIATIONS,
    ExperimentConfig,
    diff_configs,
    load_config,
)
from cmaf.training.loop import (
    TrainingDiverged,
    read_history,
    select_device,
    train,
    training_augmentation,
)

REPO = Path(__file__).resolve().parents[1]


def smoke(epochs: int = 2, **train_overrides) -> ExperimentConfig:
    """Small for testing speed: the smoke profile, a few epochs."""
    config = load_config("smoke")
    config.train.epochs = epochs
    for key, value in train_overrides.items():
        setattr(config.train, key, value)
    return config


@pytest.fixture(scope="session")
def finished_run(tiny_cache, tmp_path_factory) -> Path:
    return train(smoke(3), tiny_cache, tmp_path_factory.mktemp("runs") / "a", progress=False)


@pytest.mark.slow
def test_model_overfits_a_tiny_batch():
    """Learning works end to end: 8 clips, 8 labels, 100 % training accuracy."""
    torch.manual_seed(0)
    config = load_config("smoke").model
    config.dropout = 0.0
    model = CMAF(config)
    mel = torch.randn(8, 1, config.audio.n_mels, config.audio.mel_frames)
    size = config.visual.image_size
    frames = torch.randn(8, config.visual.num_frames, 3, size, size)
    labels = torch.arange(8)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(150):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(mel, frames).logits, labels)
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            accuracy = (model(mel, frames).logits.argmax(1) == labels).float().mean()
        model.train()
        if accuracy == 1.0:
            break
    assert accuracy == 1.0


def test_run_directory_holds_everything_the_notebooks_read(finished_run, tiny_cache):
    run = finished_run
    for name in (
        "config.json",
        "split.json",
        "history.csv",
        "metrics.json",
        "predictions.csv",
        "confusion.csv",
        "attention_init.npz",
        "attention_final.npz",
        "run.json",
        "checkpoints/last.pt",
        "checkpoints/best.pt",
    ):
        assert (run / name).is_file(), name
    assert ExperimentConfig.from_dict(json.loads((run / "config.json").read_text())) == smoke(3)
    history = read_history(run)
    assert [row["epoch"] for row in history] == [1, 2, 3]
    metrics = json.loads((run / "metrics.json").read_text())
    split = Split.from_json((run / "split.json").read_text())
    assert metrics["test"]["num_samples"] == len(split.test_ids)
    assert 1 <= metrics["selected_epoch"] <= 3 and "validation" in metrics["checkpoint"]
    for name in ("accuracy", "macro_f1", "ua"):
        low, high = metrics["ci95"][name]
        assert low <= metrics["scalars"][name] <= high
    predictions = (run / "predictions.csv").read_text().splitlines()
    assert len(predictions) == 1 + len(split.test_ids)
    assert not set(split.test_ids) & (set(split.train_ids) | set(split.val_ids))
    attention = np.load(run / "attention_final.npz")
    weights = attention["audio_to_visual"]
    steps = smoke(3).model.audio.out_steps  # audio steps; frames are aligned to them
    assert weights.shape == (8, 4, steps, steps)
    assert np.allclose(weights.sum(-1), 1.0, atol=1e-4)
    manifest = json.loads((run / "run.json").read_text())
    assert manifest["device"] == "cpu" and manifest["wall_seconds"] > 0
    assert len(manifest["data_manifest_sha256"]) == 64 and manifest["torch"]
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert state["epoch"] == 3


@pytest.mark.slow
def test_kill_and_resume_equals_an_uninterrupted_run(finished_run, tiny_cache, tmp_path):
    """A run killed (SIGKILL) after epoch 1 and resumed ends exactly like the uninterrupted one."""
    config_path = tmp_path / "config.json"
    config_path.write_text(smoke(3).to_json())
    out = tmp_path / "killed"
    script = (
        "import os, signal\n"
        "from cmaf.training.config import load_config\n"
        "from cmaf.training.loop import train\n"
        "def die(epoch, row):\n"
        "    if epoch == 1:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        f"train(load_config({str(config_path)!r}), {str(tiny_cache)!r}, {str(out)!r},"
        " progress=False, on_epoch_end=die)\n"
    )
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300)
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
    assert load_checkpoint(out / "checkpoints" / "last.pt")["epoch"] == 1
    assert not (out / "metrics.json").exists()

    train(load_config(str(config_path)), tiny_cache, out, resume=True, progress=False)
    uninterrupted = json.loads((finished_run / "metrics.json").read_text())
    resumed = json.loads((out / "metrics.json").read_text())
    assert resumed["scalars"] == pytest.approx(uninterrupted["scalars"], abs=1e-6)
    assert resumed["selected_epoch"] == uninterrupted["selected_epoch"]
    for a, b in zip(read_history(finished_run), read_history(out), strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
    final_a = load_checkpoint(finished_run / "checkpoints" / "last.pt")["model"]
    final_b = load_checkpoint(out / "checkpoints" / "last.pt")["model"]
    for key in final_a:
        assert torch.allclose(final_a[key].float(), final_b[key].float(), atol=1e-5), key


def test_a_run_directory_is_never_overwritten(finished_run, tiny_cache):
    with pytest.raises(FileExistsError, match="--resume"):
        train(smoke(1), tiny_cache, finished_run, progress=False)


def test_nan_loss_stops_with_a_clear_message_and_keeps_the_last_checkpoint(
    tiny_cache, tmp_path, monkeypatch
):
    real = torch.nn.functional.cross_entropy
    state = {"poison": False}

    def poisoned(logits, target, *args, **kwargs):
        loss = real(logits, target, *args, **kwargs)
        return loss * float("nan") if state["poison"] else loss

    monkeypatch.setattr(torch.nn.functional, "cross_entropy", poisoned)
    out = tmp_path / "nan"
    with pytest.raises(TrainingDiverged, match=r"epoch 2.*last good checkpoint"):
        train(
            smoke(3),
            tiny_cache,
            out,
            progress=False,
            on_epoch_end=lambda epoch, row: state.update(poison=True),
        )
    assert load_checkpoint(out / "checkpoints" / "last.pt")["epoch"] == 1


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_tampered_checkpoint_cannot_run_code(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "last.pt"
    with open(path, "wb") as fh:
        pickle.dump({"model": _Exploit(marker)}, fh)
    with pytest.raises(ValueError, match="refused or unreadable checkpoint"):
        load_checkpoint(path)
    assert not marker.exists()


def test_bad_configs_fail_with_one_clear_line(tiny_cache, tmp_path):
    config = smoke(1)
    config.model.num_classes = 7
    with pytest.raises(ValueError, match="num_classes=7 but dataset ravdess has 8 classes"):
        train(config, tiny_cache, tmp_path / "x", progress=False)
    config = smoke(1)
    config.model.visual.image_size = 48
    config.preprocess = dataclasses.replace(config.preprocess, image_size=48)
    with pytest.raises(ValueError, match="prepared with other settings"):
        train(config, tiny_cache, tmp_path / "y", progress=False)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"base": "cpu", "train": {"epoch": 3}}))
    with pytest.raises(ValueError, match=r"unknown key\(s\) train\.epoch"):
        load_config(bad)
    bad.write_text(json.dumps({"base": "cpu", "train": {"epochs": "3"}}))
    with pytest.raises(ValueError, match=r"train\.epochs must be int"):
        load_config(bad)
    bad.write_text(json.dumps({"base": "cpu", "preprocess": {"num_frames": 8}}))
    with pytest.raises(ValueError, match=r"preprocess\.num_frames=8 but the model expects 16"):
        load_config(bad)
    with pytest.raises(ValueError, match="neither a profile"):
        load_config("gpu-fast")
    bad.write_text(json.dumps({"base": "cpu", "train": {"augment_snr_db": [30, -5]}}))
    with pytest.raises(ValueError, match=r"augment_snr_db=\[30.0, -5.0\] must be \[low, high\]"):
        load_config(bad)
    assert main(["train", "--config", "smoke", "--cache", str(tiny_cache), "--num-classes", "6",
                 "--out", str(tmp_path / "z"), "--quiet"]) == 2  # fmt: skip


def test_training_noise_range_comes_from_the_config():
    config = load_config("cpu")
    assert training_augmentation(config).snr_db == config.train.augment_snr_db == (-5.0, 30.0)
    config.train.augment_snr_db = (0.0, 20.0)
    augment = training_augmentation(config)
    assert augment.snr_db == (0.0, 20.0) and augment.noise and augment.pitch_shift
    config.train.augment = False
    assert training_augmentation(config) == AugmentConfig.none()


def test_cpu_profile_lists_every_deviation_with_a_reason(capsys):
    rows = diff_configs("paper", "cpu")
    assert {key for key, *_ in rows} == set(CPU_DEVIATIONS)
    assert all(reason for *_, reason in rows)
    paper, cpu = load_config("paper"), load_config("cpu")
    assert paper.model.visual.weights == "imagenet" and paper.train.batch_size == 128
    assert type(cpu.model) is type(paper.model)
    assert paper.model.tucker_ranks == (30, 128, 128)
    # The cpu profile's 64 x 128 log-Mel gives 28 audio steps; the time rank follows them.
    assert cpu.model.audio.out_steps == cpu.model.tucker_ranks[0] == 28
    assert cpu.model.tucker_ranks[1:] == paper.model.tucker_ranks[1:]
    assert main(["config", "--diff", "paper", "cpu"]) == 0
    assert "train.frozen_features" in capsys.readouterr().out


def test_held_out_protocol_keeps_actors_apart(tiny_cache, tmp_path):
    config = smoke(1)
    config.data.split = "held-out"
    config.data.groups_per_fold = 1  # 4 actors here: one actor per fold
    config.data.fold = 2
    run = train(config, tiny_cache, tmp_path / "held", progress=False)
    split = Split.from_json((run / "split.json").read_text())
    actors = lambda ids: {clip_id.rsplit("-", 1)[1] for clip_id in ids}  # noqa: E731
    assert actors(split.test_ids) == {"03"}
    assert not actors(split.test_ids) & actors(split.train_ids + split.val_ids)


def test_device_selection():
    assert select_device("auto").type in ("cuda", "mps", "cpu")
    assert select_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            select_device("cuda")


@pytest.mark.slow
def test_ddp_with_gloo_two_processes_writes_one_checkpoint(tiny_cache, tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "cmaf",
        "train",
        "--config",
        "smoke",
        "--cache",
        str(tiny_cache),
        "--out",
        str(out),
        "--epochs",
        "1",
        "--quiet",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    assert load_checkpoint(out / "checkpoints" / "last.pt")["epoch"] == 1
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["best.pt", "last.pt"]
    assert json.loads((out / "run.json").read_text())["world_size"] == 2


def test_frame_features_are_computed_once_per_backbone(tiny_cache, monkeypatch):
    from cmaf.training import loop
    from cmaf.training.config import load_config

    config = load_config("smoke")
    model = loop.build_model(config.model)
    calls = []
    real = type(model.visual_encoder).frame_features
    monkeypatch.setattr(
        type(model.visual_encoder),
        "frame_features",
        lambda self, frames: calls.append(1) or real(self, frames),
    )
    loop._FEATURE_MEMO.clear()
    first = loop.compute_frame_features(model, tiny_cache, torch.device("cpu"), progress=False)
    n = len(calls)
    config.model.fusion = "video"
    video = loop.build_model(config.model)  # another model, the same random backbone
    again = loop.compute_frame_features(video, tiny_cache, torch.device("cpu"), progress=False)
    assert again is first and len(calls) == n > 0
    with torch.no_grad():
        video.visual_encoder.backbone.conv1.weight.add_(1.0)
    loop.compute_frame_features(video, tiny_cache, torch.device("cpu"), progress=False)
    assert len(calls) > n  # other weights: computed afresh


@pytest.mark.slow
def test_compare_trains_each_fusion_and_writes_one_table(tiny_cache, tmp_path):
    import csv as _csv

    from cmaf.experiments.compare import model_cost, run_compare
    from cmaf.training.config import load_config

    config = load_config("smoke")
    config.data.groups_per_fold = 2  # 4 actors: two held-out folds of 2
    path = run_compare(
        config, tiny_cache, tmp_path, ["cmaf", "early", "lmf"], seeds=(0,), folds=(0,),
        progress=False,
    )  # fmt: skip
    rows = list(_csv.DictReader(open(path)))
    assert [(r["fusion"], r["protocol"]) for r in rows] == [
        (f, p) for f in ("cmaf", "early", "lmf") for p in ("random", "held-out")
    ]
    for row in rows:
        assert int(row["params"]) > 0 and float(row["macs"]) > 0 and row["runs"] == "1"
        assert 0.0 < float(row["backbone_macs"]) < float(row["macs"])
        assert 0.0 <= float(row["accuracy_mean"]) <= 1.0
        assert (tmp_path / row["fusion"] / "random-seed0" / "metrics.json").is_file()
        gap = float(row["accuracy_mean"]) if row["protocol"] == "random" else None
        if gap is not None:
            held = next(r for r in rows if r["fusion"] == row["fusion"] and r is not row)
            gap -= float(held["accuracy_mean"])
            assert float(row["random_minus_held_out"]) == pytest.approx(gap)
    # The cost of each model is its own: the fused model does more than the audio branch alone.
    config.model.fusion = "audio"
    audio_params, audio_macs, audio_backbone = model_cost(config)
    assert audio_macs < float(rows[0]["macs"]) and audio_params < int(rows[0]["params"])
    assert audio_backbone == 0.0
    # A finished run named in ``reuse`` with the same config is taken, not retrained.
    config.model.fusion = "cmaf"
    again = run_compare(
        config, tiny_cache, tmp_path / "again", ["cmaf"], seeds=(0,),
        reuse={("cmaf", "random-seed0"): tmp_path / "cmaf" / "random-seed0"}, progress=False,
    )  # fmt: skip
    assert not (tmp_path / "again" / "cmaf").exists()
    assert next(_csv.DictReader(open(again)))["accuracy_mean"] == rows[0]["accuracy_mean"]
    # A smaller plan into the folder of a larger one still tables the larger one's runs...
    small = run_compare(config, tiny_cache, tmp_path, ["cmaf"], seeds=(0,), progress=False)
    assert [(r["fusion"], r["protocol"]) for r in _csv.DictReader(open(small))] == [
        (f, p) for f in ("cmaf", "early", "lmf") for p in ("random", "held-out")
    ]
    # ...but not runs made with another configuration.
    config.train.epochs += 1
    (tmp_path / "other").mkdir()
    for name in ("cmaf", "lmf"):
        (tmp_path / "other" / name).symlink_to(tmp_path / name)
    other = run_compare(config, tiny_cache, tmp_path / "other", ["early"], seeds=(0,),
                        progress=False)  # fmt: skip
    table = [(r["fusion"], r["protocol"]) for r in _csv.DictReader(open(other))]
    assert table == [("early", "random")]
    with pytest.raises(ValueError, match="unknown fusion"):
        run_compare(config, tiny_cache, tmp_path, ["concat"])


def test_calibration_checks_each_design_aim_of_the_corpus():
    from cmaf.experiments.compare import calibration, fusion_margin

    def rows(cmaf, audio, video, early=0.5, protocol="random"):
        values = {"cmaf": cmaf, "audio": audio, "video": video, "early": early}
        return [
            {"fusion": m, "protocol": protocol, "accuracy_mean": a, "runs": 3}
            for m, a in values.items()
        ]

    met = calibration(rows(0.78, 0.60, 0.56))
    assert [r["met"] for r in met] == [True, True, True, True]
    assert fusion_margin(rows(0.78, 0.60, 0.56))["better"] == "audio"
    assert met[2]["measured"] == pytest.approx(0.18) and met[2]["runs"] == 3
    # The previous corpus/model: fused 9 points below audio-only.
    assert [r["met"] for r in calibration(rows(0.51, 0.604, 0.563))] == [True, True, False, True]
    # A margin just short of 5 points, a unimodal model outside the band, a perfect model.
    assert not calibration(rows(0.649, 0.60, 0.56))[2]["met"]
    assert [r["met"] for r in calibration(rows(0.99, 0.85, 0.30))][:2] == [False, False]
    assert not calibration(rows(0.90, 0.60, 0.56, early=1.0))[3]["met"]
    # Missing models or another protocol: nothing to check.
    assert calibration(rows(0.78, 0.60, 0.56), protocol="held-out") == []
    assert calibration([r for r in rows(0.78, 0.6, 0.5) if r["fusion"] != "video"]) == []


def test_compare_cli_chooses_the_noise_mixture_of_its_sweep(monkeypatch, tmp_path):
    """``--raise-noise-level`` is the only way to the loudness-raising mixture."""
    import cmaf.experiments.compare as compare
    from cmaf.cli import build_parser

    sweeps = []
    monkeypatch.setattr(
        compare, "run_compare", lambda *a, robustness, **k: sweeps.append(robustness) or tmp_path
    )
    common = ["compare", "--cache", str(tmp_path), "--out", str(tmp_path), "--plan", "smoke"]
    for extra in ([], ["--raise-noise-level"], ["--no-robustness"]):
        args = build_parser().parse_args([*common, *extra])
        assert args.func(args) == 0
    kept, raised, none = sweeps
    assert kept.keep_level and kept.snr_db == compare.PLANS["smoke"].sweep.snr_db
    assert not raised.keep_level and raised.snr_db == kept.snr_db
    assert none is None


def _batchnorm_buffers(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {
        name: buffer.clone()
        for name, buffer in model.named_buffers()
        if name.endswith(("running_mean", "running_var"))
    }


def test_precise_batchnorm_takes_the_plain_average_of_the_batch_statistics():
    """Small for testing speed: an audio-only smoke model and three hand-made log-Mel batches."""
    from cmaf.models import build_model
    from cmaf.training.loop import reestimate_batchnorm

    config = load_config("smoke").model
    config.fusion = "audio"
    torch.manual_seed(0)
    model = build_model(config).eval()
    norm = model.audio_encoder.blocks[0][1]
    assert isinstance(norm, torch.nn.BatchNorm2d)
    shape = (1, config.audio.n_mels, config.audio.mel_frames)
    batches = [{"mel": torch.randn(n, *shape) * s + s} for n, s in ((4, 1.0), (4, 3.0), (2, 0.5))]
    weights = {k: v.clone() for k, v in model.state_dict().items()}

    seen = []  # each batch's input to the first BatchNorm layer
    hook = norm.register_forward_hook(lambda module, args, out: seen.append(args[0].detach()))
    with torch.no_grad():
        for batch in batches:
            model(batch["mel"])
    hook.remove()
    means = torch.stack([x.mean(dim=(0, 2, 3)) for x in seen])
    variances = torch.stack([x.var(dim=(0, 2, 3), unbiased=True) for x in seen])

    assert reestimate_batchnorm(model, batches, torch.device("cpu")) > 0
    # Plain (not exponential, not size-weighted) average over the three batches.
    assert torch.allclose(norm.running_mean, means.mean(0), atol=1e-5)
    assert torch.allclose(norm.running_var, variances.mean(0), rtol=1e-4)
    assert norm.momentum == 0.1 and not model.training  # restored
    for key, value in model.state_dict().items():
        if not key.endswith(("running_mean", "running_var", "num_batches_tracked")):
            assert torch.equal(value, weights[key]), key


def test_precise_batchnorm_leaves_a_frozen_backbone_alone():
    """Only layers that training updates are re-estimated: the frozen ResNet keeps its own."""
    from cmaf.models import build_model
    from cmaf.training.loop import reestimate_batchnorm

    config = load_config("smoke").model
    config.fusion = "video"
    model = build_model(config)
    frozen = _batchnorm_buffers(model.visual_encoder.backbone)
    norm = model.visual_encoder.feature_norm
    size = config.visual.image_size
    batches = [{"frames": torch.randn(2, config.visual.num_frames, 3, size, size)}]
    assert reestimate_batchnorm(model, batches, torch.device("cpu")) == 1
    assert not torch.equal(norm.running_mean, torch.zeros_like(norm.running_mean))
    after = _batchnorm_buffers(model.visual_encoder.backbone)
    assert all(torch.equal(frozen[k], after[k]) for k in frozen)


@pytest.mark.slow
@pytest.mark.parametrize("precise", [True, False])
def test_best_checkpoint_holds_the_clean_training_clips_statistics(tiny_cache, tmp_path, precise):
    """With ``train.precise_bn`` best.pt's BatchNorm statistics are those of one clean pass over
    the training clips (its weights unchanged); without, the running average of training."""
    from cmaf.data.dataset import CachedClips
    from cmaf.models import build_model
    from cmaf.training.loop import reestimate_batchnorm

    config = smoke(1, precise_bn=precise)
    config.model.fusion = "audio"
    run = train(config, tiny_cache, tmp_path / "run", progress=False)
    model = build_model(config.model)
    model.load_state_dict(load_checkpoint(run / "checkpoints" / "best.pt")["model"])
    saved = _batchnorm_buffers(model)
    split = Split.from_json((run / "split.json").read_text())
    clean = CachedClips(tiny_cache, split.train_ids, train=False, frames=False)
    loader = torch.utils.data.DataLoader(clean, batch_size=config.train.batch_size)
    reestimate_batchnorm(model, loader, torch.device("cpu"))
    same = all(torch.allclose(saved[k], v, atol=1e-5) for k, v in _batchnorm_buffers(model).items())
    assert same == precise


def test_a_run_saved_before_a_config_key_existed_matches_that_keys_default(tmp_path):
    """A run's config.json from before ``train.precise_bn`` existed was trained without it."""
    from cmaf.experiments.protocols import _same_config

    config = load_config("smoke")
    old = json.loads(config.to_json())
    del old["train"]["precise_bn"]
    (tmp_path / "config.json").write_text(json.dumps(old))
    config.train.precise_bn = False
    assert _same_config(tmp_path, config)
    config.train.precise_bn = True
    assert not _same_config(tmp_path, config)
    (tmp_path / "config.json").write_text("{not json")
    assert not _same_config(tmp_path, config)


def test_a_finished_run_with_another_config_is_refused_not_reused(finished_run, tiny_cache):
    """A stale run would be reported as the new config's; it stops with the fields that differ."""
    from cmaf.experiments.protocols import ensure_run

    before = (finished_run / "metrics.json").stat().st_mtime_ns
    logged = []
    assert ensure_run(smoke(3), tiny_cache, finished_run, log=logged.append) == finished_run
    assert logged == [f"{finished_run.name}: finished earlier, reused"]
    changed = smoke(3, precise_bn=False, lr=5e-4)
    with pytest.raises(ValueError, match=r"train\.lr, train\.precise_bn differ\); move it away"):
        ensure_run(changed, tiny_cache, finished_run, log=logged.append)
    assert (finished_run / "metrics.json").stat().st_mtime_ns == before
