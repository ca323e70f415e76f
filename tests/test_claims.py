"""The prose generator: a chapter's stated comparison follows the interval, not the point value."""

from __future__ import annotations

import numpy as np
import pytest

from cmaf.evaluation import claims


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0.01, 0.09, "ahead"),
        (-0.09, -0.01, "behind"),
        (-0.01, 0.07, "within noise"),
        (0, 0, "within noise"),
    ],
)
def test_verdict_follows_the_interval(low, high, expected):
    assert claims.verdict(low, high) == expected


def test_two_builds_within_noise_state_the_same_conclusion():
    # Two builds' differences on either side of the other's point value, both intervals
    # containing zero: the same conclusion, although one point value is twice the other.
    first = claims.compare(0.03, -0.01, 0.07, "CMAF", "audio-only")
    second = claims.compare(0.06, -0.002, 0.12, "CMAF", "audio-only")
    assert "within noise" in first and "within noise" in second
    assert "ahead" not in first + second


def test_an_interval_that_clears_zero_changes_the_sentence():
    # The same point value on both sides of the boundary: only the interval decides.
    inside = claims.compare(0.05, -0.004, 0.10, "CMAF", "audio-only")
    above = claims.compare(0.05, 0.004, 0.10, "CMAF", "audio-only")
    below = claims.compare(-0.05, -0.10, -0.004, "CMAF", "audio-only")
    assert "within noise" in inside
    assert above.startswith("CMAF is ahead of audio-only by 5.0 points")
    assert below.startswith("CMAF is behind audio-only by 5.0 points")


def test_accuracy_interval_is_wilson_and_narrows_with_clips():
    acc, low, high = claims.accuracy_interval([True] * 75 + [False] * 75)
    assert acc == 0.5 and low < 0.5 < high
    assert (high - low) / 2 < 0.08  # 150 clips: within the book's ±8 points at any accuracy
    _, low96, high96 = claims.accuracy_interval([True] * 48 + [False] * 48)
    assert (high96 - low96) / 2 > 0.08  # 96 clips: wider than that
    with pytest.raises(ValueError):
        claims.accuracy_interval([])


def _build(rng, accuracy, n):
    return rng.random(n) < accuracy


def test_paired_difference_detects_a_real_gap_and_not_a_null_one():
    rng = np.random.default_rng(0)
    clips = [f"seed{s}/clip{i}" for s in range(3) for i in range(150)]
    strong, weak = _build(rng, 0.85, len(clips)), _build(rng, 0.55, len(clips))
    d, low, high = claims.paired_difference((strong, clips), (weak, clips))
    assert claims.verdict(low, high) == "ahead" and low < d < high
    same = claims.paired_difference((strong, clips), (strong, clips))
    assert same == (0.0, 0.0, 0.0) and claims.verdict(*same[1:]) == "within noise"


def test_null_difference_is_within_noise_for_most_builds():
    # Many "builds" of two equally good models: the generated verdict is "within noise" in
    # about 95 % of them (the interval's coverage), never systematically one way.
    rng = np.random.default_rng(1)
    clips = list(range(450))
    verdicts = []
    for _ in range(60):
        a, b = _build(rng, 0.7, 450), _build(rng, 0.7, 450)
        verdicts.append(claims.verdict(*claims.paired_difference((a, clips), (b, clips), 500)[1:]))
    assert verdicts.count("within noise") >= 52


def test_ranking_states_the_top_group_and_the_rest():
    rng = np.random.default_rng(2)
    clips = list(range(600))
    best = _build(rng, 0.9, 600)
    near = best.copy()
    right, wrong = np.flatnonzero(best), np.flatnonzero(~best)
    near[right[:4]], near[wrong[:2]] = False, True  # 4 clips lost, 2 won: within noise
    samples = {"late": (best, clips), "cmaf": (near, clips), "tfn": (_build(rng, 0.5, 600), clips)}
    ranking = claims.rank(samples, n_boot=500)
    assert ranking.best == "late" and ranking.tied == ["cmaf"]
    sentence = ranking.sentence({"cmaf": "CMAF"})
    group = f"(the most accurate, at {100 * best.mean():.1f} %, and the models within noise of it)"
    assert sentence == f"late and CMAF form the top group {group}; behind it: tfn."
    # Swap which of the two near-equal models is point-best: the stated group is the same.
    swapped = claims.rank({**samples, "late": (near, clips), "cmaf": (best, clips)}, n_boot=500)
    assert swapped.best == "cmaf" and set(swapped.tied) == {"late"}
    assert swapped.sentence({"cmaf": "CMAF"}).startswith("CMAF and late form the top group")
    # No model within noise of the best: it is ahead of all.
    alone = claims.rank({"late": (best, clips), "tfn": samples["tfn"]}, n_boot=500)
    assert alone.sentence() == f"late is ahead of every other model ({100 * best.mean():.1f} %)."


def _predictions(path, clips, correct):
    path.write_text(
        "clip_id,label_index,predicted_index\n"
        + "".join(f"{clip},0,{0 if ok else 1}\n" for clip, ok in zip(clips, correct, strict=True))
    )
    return path


def test_a_clip_tested_under_several_seeds_is_resampled_as_one(tmp_path):
    # Two seeds that test the same 120 clips with the same outcomes carry no more evidence
    # than one: pooling them must not narrow the interval (clusters per seed and clip did,
    # by about 1/sqrt(2)).
    from cmaf.evaluation.runs import correct_by_clip

    rng = np.random.default_rng(0)
    clips = [f"clip{i:03d}" for i in range(120)]
    first, second = rng.random(120) < 0.7, rng.random(120) < 0.6
    files = {
        name: {
            seed: _predictions(tmp_path / f"{name}-{seed}.csv", clips, outcome) for seed in (0, 1)
        }
        for name, outcome in (("a", first), ("b", second))
    }
    pooled = correct_by_clip(files)
    assert pooled["a"][1] == sorted(clips) * 2  # one cluster per clip, every seed's outcome
    one_seed = correct_by_clip({n: {0: by[0]} for n, by in files.items()})
    _, low2, high2 = claims.paired_difference(pooled["a"], pooled["b"])
    _, low1, high1 = claims.paired_difference(one_seed["a"], one_seed["b"])
    assert high2 - low2 > 0.9 * (high1 - low1)
    table = claims.accuracy_table(files).set_index("model")
    assert table.loc["a", "seeds"] == 2 and table.loc["a", "test clips"] == 240
