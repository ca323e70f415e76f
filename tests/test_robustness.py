"""Robustness sweeps: the corruptions do what they claim, and the sweep runs on trained runs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from fixtures import make_ravdess_tree

from cmaf.data.augment import add_noise_mel
from cmaf.data.cache import prepare
from cmaf.data.preprocessing import PreprocessConfig
from cmaf.data.registry import classes_for, scan_dataset
from cmaf.experiments import robustness as rb
from cmaf.training.config import load_config
from cmaf.training.loop import train

SILENCE = math.log(1e-6)


def tone_mels(classes: int = 8, per_class: int = 6, seed: int = 0) -> tuple[torch.Tensor, list]:
    """Log-Mels of steady tones, class ``k`` in band ``10 + 12 k``, over a faint floor."""
    rng = np.random.default_rng(seed)
    mels, labels = [], []
    for k in range(classes):
        for _ in range(per_class):
            power = np.full((128, 64), 1e-3) * rng.exponential(1.0, (128, 64))
            power[10 + 12 * k] += 1.0
            mels.append(np.log(power + 1e-6))
            labels.append(k)
    return torch.tensor(np.array(mels), dtype=torch.float32)[:, None], labels


def centroid_accuracy(train: torch.Tensor, test: torch.Tensor, labels: list) -> float:
    """Nearest class centroid of the time-averaged log-Mel (an informative audio 'model')."""
    profile = lambda mel: mel.mean(dim=-1).flatten(1)  # noqa: E731
    y = torch.tensor(labels)
    centroids = torch.stack([profile(train)[y == k].mean(0) for k in range(int(y.max()) + 1)])
    predicted = torch.cdist(profile(test), centroids).argmin(dim=1)
    return float((predicted == y).float().mean())


def test_noise_has_the_requested_snr_and_band_shape():
    mel = torch.log(torch.rand(1, 128, 300) + 0.5)
    shape = torch.linspace(1.0, 4.0, 128)
    noisy = add_noise_mel(mel, 0.0, torch.Generator().manual_seed(0), shape)
    noise = noisy.exp() - mel.exp()
    assert float(mel.exp().mean() / noise.mean()) == pytest.approx(1.0, rel=0.05)  # 0 dB
    per_band = noise.mean(dim=(0, 2))
    assert float(per_band[-16:].mean() / per_band[:16].mean()) == pytest.approx(
        float(shape[-16:].mean() / shape[:16].mean()), rel=0.1
    )


def test_white_noise_fills_wide_high_bands_more():
    shape = rb.white_noise_shape(PreprocessConfig())
    assert shape.shape == (128,) and float(shape.mean()) == pytest.approx(1.0, rel=1e-5)
    assert float(shape[-10:].mean()) > 5 * float(shape[1:11].mean())  # Mel bands widen


def test_noise_is_the_same_for_every_model_and_differs_between_clips():
    mel, _ = tone_mels(classes=1, per_class=2)
    shapes = {"white-noise": torch.ones(128)}
    condition = rb.Condition("white-noise", 0.0)
    first = rb.corrupt_mel(mel, condition, ["a", "b"], shapes, SILENCE)
    again = rb.corrupt_mel(mel, condition, ["a", "b"], shapes, SILENCE)
    assert torch.equal(first, again)
    assert not torch.equal(first[0] - mel[0], first[1] - mel[1])
    missing = rb.corrupt_mel(mel, rb.Condition("missing-audio", 1), ["a", "b"], shapes, SILENCE)
    assert torch.all(missing == SILENCE)
    untouched = rb.corrupt_mel(mel, rb.Condition("occlude-upper", 1), ["a", "b"], shapes, SILENCE)
    assert untouched is mel


def test_each_clip_hears_one_noise_louder_at_each_lower_snr():
    """Common random numbers: two SNRs differ by the noise's level, not by a new draw."""
    mel, _ = tone_mels(classes=1, per_class=1)
    shapes = {"white-noise": torch.ones(128), "speech-noise": torch.ones(128)}
    added = {}
    for kind in ("white-noise", "speech-noise"):
        for snr in (10.0, 0.0):
            condition = rb.Condition(kind, snr)
            noisy = rb.corrupt_mel(mel, condition, ["a"], shapes, SILENCE, keep_level=False)
            added[kind, snr] = noisy.exp() - mel.exp()
    ratio = added["white-noise", 0.0] / added["white-noise", 10.0]
    torch.testing.assert_close(ratio, torch.full_like(ratio, 10.0), rtol=1e-2, atol=0)
    # ... and the two kinds draw their own noise
    assert not torch.allclose(added["white-noise", 0.0], added["speech-noise", 0.0])


def test_kept_level_rescales_the_same_mixture_to_the_clean_clips_power():
    """The sweep's default mixture: same noise, same SNR, but no louder than the clean clip."""
    mel, _ = tone_mels(classes=2, per_class=1)
    shapes = {"speech-noise": rb.speech_shape(mel)}
    condition = rb.Condition("speech-noise", -10.0)
    kept = rb.corrupt_mel(mel, condition, ["a", "b"], shapes, SILENCE)
    raised = rb.corrupt_mel(mel, condition, ["a", "b"], shapes, SILENCE, keep_level=False)
    for clean, k, r in zip(mel, kept, raised, strict=True):
        assert float(k.exp().mean() / clean.exp().mean()) == pytest.approx(1.0, rel=1e-4)
        # 10 dB of noise on top of the clip: the raised mixture is 11 times as powerful
        assert float(r.exp().mean() / clean.exp().mean()) == pytest.approx(11.0, rel=0.05)
        gain = k - r  # one gain for every cell: the same draw, scaled
        torch.testing.assert_close(gain, torch.full_like(gain, float(gain.mean())))


@pytest.mark.slow
def test_an_informative_audio_model_degrades_monotonically_with_noise():
    """The sanity check of the noise code: accuracy falls step by step to chance."""
    train_mel, labels = tone_mels(seed=0)
    test_mel, _ = tone_mels(seed=1)
    ids = [f"clip{i}" for i in range(len(labels))]
    shapes = {"white-noise": rb.white_noise_shape(PreprocessConfig()), "speech-noise": None}
    shapes["speech-noise"] = rb.speech_shape(train_mel)
    for kind in ("white-noise", "speech-noise"):
        points = [(-math.inf, centroid_accuracy(train_mel, test_mel, labels))]
        for snr in (10.0, 0.0, -10.0, -20.0, -30.0, -40.0):
            noisy = rb.corrupt_mel(test_mel, rb.Condition(kind, snr), ids, shapes, SILENCE)
            points.append((-snr, centroid_accuracy(train_mel, noisy, labels)))
        assert points[0][1] == 1.0
        assert rb.monotone(points), (kind, points)
        assert points[-1][1] <= 0.35, (kind, points)  # near chance (1/8) at the strongest


def face_frames(classes: int = 4, per_class: int = 4):
    """16 x 16 frames whose class shows twice: a bar in the upper face, a bar in the lower."""
    frames, labels = [], []
    for k in range(classes):
        for _ in range(per_class):
            clip = torch.full((2, 3, 16, 16), 0.2)
            clip[:, :, 4, 6 + k] = 1.0  # upper face (brows)
            clip[:, :, 11, 6 + k] = 1.0  # lower face (mouth)
            frames.append(clip)
            labels.append(k)
    return torch.stack(frames), torch.tensor(labels)


def test_occlusion_hides_a_growing_part_of_one_half_of_the_face():
    frames, _ = face_frames()
    face = rb.FaceBox(top=0.0, bottom=1.0, left=0.25, right=0.75)
    hidden = []
    for level in (1 / 3, 2 / 3, 1.0):
        upper = rb.corrupt_frames(frames, rb.Condition("occlude-upper", level), face)
        lower = rb.corrupt_frames(frames, rb.Condition("occlude-lower", level), face)
        changed_up = (upper != frames).any(dim=(0, 1, 2))
        changed_low = (lower != frames).any(dim=(0, 1, 2))
        assert not changed_up[8:].any() and not changed_low[:8].any()  # its own half only
        assert not changed_up[:, :4].any() and not changed_up[:, 12:].any()  # inside the box
        hidden.append(int((upper == 0.5).all(dim=(0, 1, 2)).sum()))
    assert hidden == sorted(hidden) and hidden[0] < hidden[-1] == 8 * 8
    assert torch.all(rb.corrupt_frames(frames, rb.Condition("missing-video", 1), face) == 0)
    assert rb.corrupt_frames(frames, rb.Condition("white-noise", 0), face) is frames


def test_an_informative_video_model_loses_exactly_the_hidden_cue():
    """Reading the lower-face bar: upper occlusion costs nothing, lower occlusion all."""
    frames, labels = face_frames()
    face = rb.FaceBox(top=0.0, bottom=1.0, left=0.25, right=0.75)

    def mouth_reader(clips: torch.Tensor) -> float:
        predicted = clips[:, 0, 0, 11, 6:10].argmax(dim=1)
        return float((predicted == labels).float().mean())

    assert mouth_reader(frames) == 1.0
    upper = [rb.Condition("occlude-upper", level) for level in (1 / 3, 2 / 3, 1.0)]
    assert all(mouth_reader(rb.corrupt_frames(frames, c, face)) == 1.0 for c in upper)
    lower = [0.0] + [
        mouth_reader(rb.corrupt_frames(frames, rb.Condition("occlude-lower", level), face))
        for level in (1 / 3, 2 / 3, 1.0)
    ]
    assert lower[-1] == 0.25  # the bar is hidden: every clip looks alike (chance, 4 classes)


def test_shift_time_delays_with_repeated_edges():
    sequence = torch.arange(5.0)[None, :, None]
    assert rb.shift_time(sequence, 2).flatten().tolist() == [0, 0, 0, 1, 2]
    assert rb.shift_time(sequence, -1).flatten().tolist() == [1, 2, 3, 4, 4]
    assert torch.equal(rb.shift_time(sequence, 0), sequence)


def test_curve_orders_by_strength_and_monotone_has_a_tolerance():
    summary = {
        ("m", "clean", 0.0): (0.9, 0.0, 1),
        ("m", "white-noise", 0.0): (0.5, 0.0, 1),
        ("m", "white-noise", 20.0): (0.8, 0.0, 1),
        ("m", "offset", -2.0): (0.7, 0.0, 1),
    }
    assert [v for _, v in rb.curve(summary, "m", "white-noise")] == [0.9, 0.8, 0.5]
    assert rb.monotone([(0, 0.5), (1, 0.52)], tolerance=0.03)
    assert not rb.monotone([(0, 0.5), (1, 0.52)])
    with pytest.raises(ValueError, match="unknown corruption"):
        rb.Condition("fog")


@pytest.fixture(scope="module")
def small_runs(tmp_path_factory):
    """A 32-clip cache and one-epoch smoke runs of CMAF, audio-only and video-only."""
    root = tmp_path_factory.mktemp("ravdess")
    make_ravdess_tree(
        root,
        actors=(1, 2),
        emotions=tuple(range(1, 9)),
        intensities=(1,),
        repetitions=(1, 2),
        size=(64, 36),
        seconds=1.0,
        with_audio_only=False,
    )
    config = load_config("smoke")
    scan = scan_dataset("ravdess", root)
    cache = prepare(
        scan.records,
        tmp_path_factory.mktemp("cache"),
        config.preprocess,
        workers=0,
        progress=False,
        classes=classes_for("ravdess"),
    ).cache_dir
    runs = {}
    for fusion in ("cmaf", "audio", "video"):
        config = load_config("smoke")
        config.model.fusion = fusion
        out = tmp_path_factory.mktemp("runs") / fusion
        runs[fusion] = train(config, cache, out, progress=False)
    return cache, runs


@pytest.mark.slow
def test_sweep_runs_on_trained_runs_and_skips_what_cannot_change(small_runs, tmp_path):
    cache, runs = small_runs
    sweep = rb.SweepConfig(snr_db=(10.0, -10.0), occlusion=(1.0,), offsets=(-1, 1))
    path = rb.run_robustness(
        {name: [run] for name, run in runs.items()},
        cache,
        tmp_path / "r.csv",
        sweep,
        progress=False,
    )
    rows = rb.load_curves(path)
    # A second sweep reads each run's saved rows back and writes the same table.
    again = rb.run_robustness(
        {name: [run] for name, run in runs.items()}, cache, tmp_path / "again.csv", sweep,
        progress=False,
    )  # fmt: skip

    def canon(table):  # NaN != NaN: compare missing shares as None
        return [
            {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
            for row in table
        ]

    assert canon(rb.load_curves(again)) == canon(rows)
    kinds = {name: {r["kind"] for r in rows if r["model"] == name} for name in runs}
    assert kinds["audio"] == {"clean", "white-noise", "speech-noise", "missing-audio"}
    assert kinds["video"] == {"clean", "occlude-upper", "occlude-lower", "missing-video", "offset"}
    assert kinds["cmaf"] == {c.kind for c in sweep.conditions()}
    for row in rows:
        assert 0.0 <= row["accuracy"] <= 1.0 and row["clips"] > 0
        labels, correct, predicted = (np.array(row[c]) for c in rb.COUNT_COLUMNS)
        assert labels.sum() == predicted.sum() == row["clips"] and (correct <= labels).all()
        assert correct.sum() / row["clips"] == pytest.approx(row["accuracy"])
        per_clip = np.array(row["correct"])
        assert per_clip.shape == (row["clips"],) and set(per_clip) <= {0, 1}
        assert per_clip.sum() == correct.sum()
        shares = (row["visual_share_in_audio"], row["audio_share_in_visual"])
        if row["model"] == "cmaf":
            assert all(0.0 < s < 1.0 for s in shares)
        else:
            assert all(math.isnan(s) for s in shares)
    cmaf = {(r["kind"], r["level"]): r for r in rows if r["model"] == "cmaf"}
    # Black frames change what the audio stream takes from the visual one.
    clean = cmaf[("clean", 0.0)]["visual_share_in_audio"]
    assert cmaf[("missing-video", 1.0)]["visual_share_in_audio"] != pytest.approx(clean)
    summary = rb.summarize(rows)
    assert summary[("audio", "clean", 0.0)][2] == 1
    # Each run keeps its rows; the same sweep again reads them back, another one recomputes.
    assert (runs["audio"] / "robustness.csv").is_file()
    calls = []
    original = rb._evaluate_run

    def counting(*args):
        calls.append(args[0])
        return original(*args)

    rb._evaluate_run = counting
    try:
        again = rb.evaluate_run(runs["audio"], cache, sweep)
        assert calls == []
        assert [r["accuracy"] for r in again] == [
            r["accuracy"] for r in rows if r["model"] == "audio"
        ]
        rb.evaluate_run(runs["audio"], cache, rb.SweepConfig(snr_db=(0.0,)))
        assert calls == [runs["audio"]]
    finally:
        rb._evaluate_run = original


def test_prediction_drift_pools_runs_and_orders_levels_from_clean_to_strongest():
    def row(run, kind, level, labels, correct, predicted):
        return {
            "model": "audio",
            "run": run,
            "kind": kind,
            "level": level,
            "label_counts": labels,
            "correct_counts": correct,
            "predicted_counts": predicted,
        }

    rows = [
        row("a", "clean", 0.0, (2, 2), (2, 1), (3, 1)),
        row("b", "clean", 0.0, (1, 3), (1, 3), (1, 3)),
        row("a", "speech-noise", 0.0, (2, 2), (0, 2), (0, 4)),
        row("b", "speech-noise", 0.0, (1, 3), (1, 0), (4, 0)),
        row("a", "speech-noise", 20.0, (2, 2), (2, 0), (4, 0)),
        row("b", "speech-noise", 20.0, (1, 3), (1, 1), (3, 1)),
        row("a", "white-noise", 20.0, (2, 2), (0, 0), (2, 2)),  # another kind: ignored
        {**row("a", "clean", 0.0, (9, 9), (9, 9), (9, 9)), "model": "video"},  # another model
    ]
    drift = rb.prediction_drift(rows, "audio", "speech-noise")
    assert np.isnan(drift["levels"][0]) and list(drift["levels"][1:]) == [20.0, 0.0]
    assert list(drift["support"]) == [3, 5]
    np.testing.assert_allclose(drift["recall"], [[3 / 3, 4 / 5], [3 / 3, 1 / 5], [1 / 3, 2 / 5]])
    np.testing.assert_allclose(
        drift["predicted_share"], [[4 / 8, 4 / 8], [7 / 8, 1 / 8], [4 / 8, 4 / 8]]
    )
    assert rb.prediction_drift(rows, "audio", "occlude-upper") == {}


def test_rise_test_is_mcnemars_exact_one_sided_test():
    before = [1, 1, 0, 0, 0, 0, 0, 1]
    after = [1, 0, 1, 1, 1, 0, 1, 1]
    gains, losses, p = rb.rise_test(before, after)
    assert (gains, losses) == (4, 1)
    assert p == pytest.approx((5 + 1) / 32)  # P(X >= 4), X ~ Bin(5, 1/2)
    assert rb.rise_test([1, 0], [1, 0]) == (0, 0, 1.0)
    # Thousands of discordant clips (a whole real-data sweep pooled): finite, and right.
    many_before = [1] * 1500 + [0] * 1500
    many_after = [0] * 1500 + [1] * 1500
    gains, losses, p = rb.rise_test(many_before, many_after)
    assert (gains, losses) == (1500, 1500) and 0.5 < p < 0.52
    with pytest.raises(ValueError, match="2 clips before, 3 after"):
        rb.rise_test([1, 0], [1, 0, 1])


def test_monotonicity_flags_a_significant_rise_and_forgives_a_flip():
    """Two runs of 20 clips; the check pairs clips across levels and pools runs."""

    def rows(model, kind, curves):
        out = []
        for run, levels in curves.items():
            for (k, level), correct in levels.items():
                accuracy = float(np.mean(correct))
                out.append(
                    {"model": model, "run": run, "kind": k, "level": level,
                     "accuracy": accuracy, "correct": tuple(correct)}
                )  # fmt: skip
        return out

    clean = [1] * 14 + [0] * 6
    # Audio: noise at 20 dB flips one clip each way per run (no rise), 0 dB loses 8 of 14.
    flip = [1] * 13 + [0] + [1] + [0] * 5
    weak = [1] * 6 + [0] * 14
    # Video: hiding a third loses 10 clips; hiding the whole half wins 8 of them back in both
    # runs: 16 gains, 0 losses pooled, p = 2**-16.
    third = [1] * 4 + [0] * 16
    half = [1] * 12 + [0] * 8
    table = []
    for run in ("a", "b"):
        table += rows(
            "audio",
            "white-noise",
            {run: {("clean", 0.0): clean, ("white-noise", 20.0): flip, ("white-noise", 0.0): weak}},
        )
        table += rows(
            "video",
            "occlude-upper",
            {
                run: {
                    ("clean", 0.0): clean,
                    ("occlude-upper", 1 / 3): third,
                    ("occlude-upper", 1.0): half,
                }
            },
        )
    checks = {r["model"]: r for r in rb.monotonicity(table)}
    audio, video = checks["audio"], checks["video"]
    assert audio["monotone"] and audio["p"] == 1.0 and audio["rise"] == 0.0
    assert audio["clean"] == pytest.approx(0.7) and audio["strongest"] == pytest.approx(0.3)
    assert not video["monotone"]
    assert video["p"] == pytest.approx(2.0**-16)
    assert video["rise"] == pytest.approx(16 / 40)
    assert (video["rise_from"], video["rise_to"]) == (pytest.approx(1 / 3), 1.0)
    # The same rise in one run of the two is weaker evidence (8 gains: p = 2**-8), still < 5 %.
    one_run = [r for r in table if not (r["model"] == "video" and r["run"] == "b")]
    assert rb.monotonicity(one_run)[1]["p"] == pytest.approx(2.0**-8)
