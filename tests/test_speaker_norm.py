"""The speech recipe's levers: per-speaker normalisation, SpecAugment masks, the one-cycle
schedule, and the speaker-cluster bootstrap and sentences the real-data chapter reports with."""

from __future__ import annotations

import csv
import hashlib
import json

import numpy as np
import pytest
import torch

from cmaf.data.augment import AugmentConfig, augment_mel, mask_mel
from cmaf.data.dataset import CachedClips, mel_speaker_stats
from cmaf.data.speaker_norm import fit_speaker_stats, standardize_by_speaker
from cmaf.evaluation import claims
from cmaf.evaluation.metrics import cluster_bootstrap
from cmaf.experiments import speech
from cmaf.training.config import load_config
from cmaf.training.loop import read_history, train

# ---------------------------------------------------------------------- per-speaker statistics


def test_each_speaker_is_standardised_with_its_own_clips_only():
    # Hand-made: speaker a's two clips have band means 1 and 3 (band 0) and 10 and 10 (band 1);
    # speaker b's clip is far away and must not move a's statistics.
    a1 = np.array([[0.0, 2.0], [10.0, 10.0]])
    a2 = np.array([[2.0, 4.0], [10.0, 10.0]])
    b1 = np.array([[100.0, 300.0], [-5.0, 5.0]])
    values, speakers = np.stack([a1, a2, b1]), ["a", "a", "b"]
    stats = fit_speaker_stats(values, speakers)
    np.testing.assert_allclose(stats["a"][0], [2.0, 10.0])
    np.testing.assert_allclose(stats["a"][1], [np.std([0, 2, 2, 4]), 1.0])  # constant band: 1
    np.testing.assert_allclose(stats["b"][0], [200.0, 0.0])
    moved = fit_speaker_stats(np.stack([a1, a2, b1 * 7 + 3]), speakers)
    for x, y in zip(moved["a"], stats["a"], strict=True):
        np.testing.assert_array_equal(x, y)  # another speaker's clips change nothing

    out = standardize_by_speaker(values, speakers, stats)
    np.testing.assert_allclose(out[0, 0], (a1[0] - 2.0) / np.std([0, 2, 2, 4]))
    np.testing.assert_allclose(out[2, 0], [-1.0, 1.0])
    assert abs(out[:2, 0].mean()) < 1e-6 and abs(out[:2, 0].std() - 1) < 1e-6
    with pytest.raises(KeyError, match="'c'"):
        standardize_by_speaker(values[:1], ["c"], stats)


def test_clip_features_are_standardised_per_feature():
    rng = np.random.default_rng(0)
    features = np.concatenate([rng.normal(5, 2, (30, 3)), rng.normal(-1, 9, (20, 3))])
    speakers = ["x"] * 30 + ["y"] * 20
    out = standardize_by_speaker(features, speakers, fit_speaker_stats(features, speakers))
    for rows in (slice(0, 30), slice(30, 50)):
        np.testing.assert_allclose(out[rows].mean(axis=0), 0, atol=1e-5)
        np.testing.assert_allclose(out[rows].std(axis=0), 1, atol=1e-5)


@pytest.fixture
def hand_cache(tmp_path):
    """A hand-made log-Mel cache: two speakers, three clips each, 4 bands x 6 frames."""
    rng = np.random.default_rng(1)
    (tmp_path / "items").mkdir()
    rows = []
    for speaker, offset in (("s1", 0.0), ("s2", 50.0)):
        for k in range(3):
            clip_id = f"{speaker}-{k}"
            mel = (rng.normal(size=(4, 6)) + offset + np.arange(4)[:, None]).astype(np.float32)
            path = tmp_path / "items" / f"{clip_id}.npz"
            np.savez(path, mel=mel)
            rows.append(
                {
                    "clip_id": clip_id,
                    "speaker": speaker,
                    "label": "neutral",
                    "label_index": str(k),
                    "item": f"items/{clip_id}.npz",
                    "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                    "bytes": str(path.stat().st_size),
                }
            )
    with open(tmp_path / "manifest.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return tmp_path, rows


def test_cache_statistics_read_no_labels_and_no_other_speaker(hand_cache):
    cache, rows = hand_cache
    stats = mel_speaker_stats(cache)
    mels = {r["clip_id"]: np.load(cache / r["item"])["mel"] for r in rows}
    s1 = np.stack([mels[f"s1-{k}"] for k in range(3)])
    np.testing.assert_allclose(stats["s1"][0], s1.mean(axis=(0, 2)), rtol=1e-6)
    np.testing.assert_allclose(stats["s1"][1], s1.transpose(1, 0, 2).reshape(4, -1).std(axis=1))
    # Labels scrambled or removed: the statistics do not change.
    relabelled = [{**r, "label": "angry", "label_index": "7"} for r in rows]
    unlabelled = [{k: v for k, v in r.items() if not k.startswith("label")} for r in rows]
    for variant in (relabelled, unlabelled):
        again = mel_speaker_stats(cache, variant)
        for speaker in ("s1", "s2"):
            np.testing.assert_array_equal(again[speaker][0], stats[speaker][0])
    # Only s1's clips listed: s1's statistics are exactly the same, s2 has none.
    alone = mel_speaker_stats(cache, [r for r in rows if r["speaker"] == "s1"])
    assert set(alone) == {"s1"}
    np.testing.assert_array_equal(alone["s1"][1], stats["s1"][1])


def test_cached_clips_standardise_each_clip_with_its_speakers_statistics(hand_cache):
    cache, _ = hand_cache
    stats = mel_speaker_stats(cache)
    clips = CachedClips(cache, speaker_stats=stats, preload=True)
    item = clips[4]  # s2-1
    raw = np.load(cache / "items" / "s2-1.npz")["mel"]
    mean, std = stats["s2"]
    np.testing.assert_allclose(item["mel"][0].numpy(), (raw - mean[:, None]) / std[:, None], 1e-5)
    plain = CachedClips(cache)
    np.testing.assert_array_equal(plain[4]["mel"][0].numpy(), raw)
    with pytest.raises(KeyError, match="s2"):
        CachedClips(cache, speaker_stats={"s1": stats["s1"]})


# ---------------------------------------------------------------------------- SpecAugment


def test_spec_masks_cover_at_most_their_share_and_fill_with_the_clip_mean():
    mel = torch.arange(64 * 40, dtype=torch.float32).reshape(1, 64, 40)
    generator = torch.Generator().manual_seed(0)
    for _ in range(50):
        out = mask_mel(mel, 2, 0.125, generator)
        changed = out != mel
        rows = changed.any(dim=2)[0].nonzero().flatten()
        cols = changed.any(dim=1)[0].nonzero().flatten()
        # Masked bins hold the clip's mean; at most 2 bands of <= 8 bins and 2 stretches of
        # <= 5 frames are masked (a cell changes only if its band or its frame is masked).
        assert torch.all(out[changed] == mel.mean())
        full_rows = (out[0] == mel.mean()).all(dim=1).sum()
        full_cols = (out[0] == mel.mean()).all(dim=0).sum()
        assert full_rows <= 16 and full_cols <= 10
        assert len(rows) <= 64 and len(cols) <= 40
    assert torch.equal(mask_mel(mel, 0, 0.125), mel)
    config = AugmentConfig.none()
    assert torch.equal(augment_mel(mel, config), mel)  # masks are off unless asked for


def test_training_augmentation_adds_the_masks_of_the_config():
    from cmaf.training.loop import training_augmentation

    config = load_config("speech")
    assert training_augmentation(config) == AugmentConfig.none()  # the profile trains clean
    config.train.spec_masks = 2
    augment = training_augmentation(config)
    assert augment.spec_masks == 2
    assert not (augment.noise or augment.pitch_shift or augment.time_stretch)  # augment off
    config.train.augment = True
    assert training_augmentation(config).noise and training_augmentation(config).spec_masks == 2


# ------------------------------------------------------------------ the speech recipe, trained


def _audio_recipe(epochs: int):
    """Small for testing speed: the smoke network, audio only, with the speech levers on."""
    config = load_config("smoke")
    config.model.fusion = "audio"
    config.train.epochs = epochs
    config.train.lr_schedule = "one-cycle"
    config.train.spec_masks = 2
    config.data.speaker_norm = True
    return config


@pytest.mark.slow
def test_recipe_resumes_to_the_uninterrupted_run(tiny_cache, tmp_path):
    whole = train(_audio_recipe(2), tiny_cache, tmp_path / "whole", progress=False)
    lrs = [row["lr"] for row in read_history(whole)]
    assert lrs[0] > lrs[1] > 0  # annealing after the warm-up

    class Stop(Exception):
        pass

    def stop(epoch, row):
        if epoch == 1:
            raise Stop

    with pytest.raises(Stop):
        train(_audio_recipe(2), tiny_cache, tmp_path / "cut", progress=False, on_epoch_end=stop)
    train(_audio_recipe(2), tiny_cache, tmp_path / "cut", resume=True, progress=False)
    a = json.loads((whole / "metrics.json").read_text())["scalars"]
    b = json.loads((tmp_path / "cut" / "metrics.json").read_text())["scalars"]
    assert a == pytest.approx(b, abs=1e-6)
    assert [r["lr"] for r in read_history(tmp_path / "cut")] == pytest.approx(lrs)


# ------------------------------------------------------------ intervals and generated prose


def test_cluster_bootstrap_resamples_whole_speakers_and_pairs_samples():
    correct = np.array([1, 1, 1, 1, 0, 0, 0, 0], dtype=bool)
    speakers = ["a"] * 4 + ["b"] * 4
    boot = cluster_bootstrap([(correct, speakers)], n_boot=500, seed=0)[:, 0]
    # Whole speakers are drawn: every resample is a mix of a (all right) and b (all wrong) in
    # steps of one speaker, so only 0, 0.5 and 1 can occur.
    assert set(np.round(boot, 6)) <= {0.0, 0.5, 1.0}
    same = cluster_bootstrap([(correct, speakers), (correct, speakers)], n_boot=200)
    np.testing.assert_array_equal(same[:, 0], same[:, 1])  # paired: one draw for both


@pytest.mark.parametrize(
    ("difference", "low", "high", "word"),
    [(0.12, 0.05, 0.19, "ahead of"), (-0.12, -0.19, -0.05, "behind"), (0.03, -0.02, 0.08, "noise")],
)
def test_comparison_sentences_say_only_what_the_interval_supports(difference, low, high, word):
    sentence = claims.compare(difference, low, high, "A", "B")
    assert word in sentence
    others = {"ahead of", "behind", "noise"} - {word}
    assert not any(other in sentence for other in others)
    # Two builds whose numbers differ but whose intervals agree state the same conclusion.
    nudged = claims.compare(difference * 0.9, low * 0.9, high * 0.9, "A", "B")
    assert word in nudged


def test_standing_against_anchors_uses_the_interval():
    from cmaf.anchors import Anchor

    anchor = Anchor("X (2020), J", "m", "p", True, "accuracy", 60.0, "s")
    assert speech.standing(0.7, 0.65, 0.75, [anchor])[0] == "above X (2020) (60.00 % accuracy)"
    assert speech.standing(0.5, 0.45, 0.55, [anchor])[0].startswith("below X (2020)")
    assert speech.standing(0.6, 0.55, 0.65, [anchor])[0].startswith("within the interval of X")
