"""Tests for cmaf.data.splits: random stratified, held-out and validation splits, leakage checks."""

from __future__ import annotations

from collections import Counter

import pytest

from cmaf.data.records import ClipRecord
from cmaf.data.splits import (
    HELD_OUT_ACTORS,
    LEAVE_ONE_SESSION_OUT,
    Split,
    assert_disjoint,
    assert_no_speaker_overlap,
    count_straddling_twins,
    held_out_folds,
    leakage_report,
    random_split,
    speaker_overlap,
    twin_key,
    validation_split,
    with_validation,
)

RAVDESS_EMOTIONS = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fearful",
    "07": "disgust",
    "08": "surprised",
}


def ravdess_records(n_actors: int = 24, with_meta: bool = True) -> list[ClipRecord]:
    """The RAVDESS speech grid: per actor 60 takes (neutral only at normal intensity)."""
    records = []
    for actor in range(1, n_actors + 1):
        for emo, label in RAVDESS_EMOTIONS.items():
            for intensity in ("01",) if emo == "01" else ("01", "02"):
                for statement in ("01", "02"):
                    for repetition in ("01", "02"):
                        stem = f"01-01-{emo}-{intensity}-{statement}-{repetition}-{actor:02d}"
                        meta = {}
                        if with_meta:
                            meta = {
                                "actor": f"{actor:02d}",
                                "emotion": emo,
                                "intensity": intensity,
                                "statement": statement,
                                "repetition": repetition,
                            }
                        records.append(
                            ClipRecord(
                                dataset="ravdess",
                                clip_id=stem,
                                label=label,
                                speaker=f"ravdess-{actor:02d}",
                                group=f"ravdess-{actor:02d}",
                                meta=meta,
                            )
                        )
    return records


def iemocap_records(per_speaker: int = 12) -> list[ClipRecord]:
    labels = ["neutral", "happy", "sad", "angry"]
    records = []
    for ses in range(1, 6):
        for sex in ("F", "M"):
            for i in range(per_speaker):
                records.append(
                    ClipRecord(
                        dataset="iemocap",
                        clip_id=f"Ses{ses:02d}{sex}_impro01_{sex}{i:03d}",
                        label=labels[i % len(labels)],
                        speaker=f"iemocap-Ses{ses:02d}{sex}",
                        group=f"Ses{ses:02d}",
                        meta={"sex": sex},
                    )
                )
    return records


def cremad_records(n_actors: int = 91, per_actor: int = 6) -> list[ClipRecord]:
    labels = ["ANG", "DIS", "FEA", "HAP", "NEU", "SAD"]
    records = []
    for a in range(n_actors):
        actor = 1001 + a
        sex = "female" if a % 3 == 0 else "male"  # unevenly spread, like the real corpus
        for i in range(per_actor):
            records.append(
                ClipRecord(
                    dataset="crema-d",
                    clip_id=f"{actor}_IEO_{labels[i]}_XX",
                    label=labels[i].lower(),
                    speaker=f"crema-d-{actor}",
                    group=f"crema-d-{actor}",
                    meta={"sex": sex},
                )
            )
    return records


@pytest.fixture(scope="module")
def ravdess() -> list[ClipRecord]:
    return ravdess_records()


# ---------------------------------------------------------------------------------------------
# random split


def test_ravdess_grid_has_1440_clips_and_720_twin_pairs(ravdess):
    assert len(ravdess) == 24 * 60
    keys = Counter(twin_key(r) for r in ravdess)
    assert len(keys) == 720
    assert set(keys.values()) == {2}


def test_random_split_stratified_proportions(ravdess):
    split = random_split(ravdess, test_fraction=0.2, seed=0)
    assert split.protocol == "random-80-20"
    assert_disjoint(split)
    assert set(split.train_ids) | set(split.test_ids) == {r.clip_id for r in ravdess}
    assert len(split.test_ids) == round(0.2 * len(ravdess))
    per_class = Counter(r.label for r in ravdess)
    test = set(split.test_ids)
    test_per_class = Counter(r.label for r in ravdess if r.clip_id in test)
    for label, n in per_class.items():
        assert abs(test_per_class[label] - 0.2 * n) <= 1, label


def test_random_split_stratified_uneven_classes():
    recs = [
        ClipRecord("x", f"c{i:03d}", label, "s", "s")
        for i, label in enumerate(["a"] * 7 + ["b"] * 13 + ["c"] * 2 + ["d"] * 31)
    ]
    for seed in range(5):
        split = random_split(recs, test_fraction=0.3, seed=seed)
        test = set(split.test_ids)
        counts = Counter(r.label for r in recs)
        test_counts = Counter(r.label for r in recs if r.clip_id in test)
        for label, n in counts.items():
            assert abs(test_counts[label] - 0.3 * n) <= 1
            assert 1 <= test_counts[label] <= n - 1
        assert split.protocol == "random-70-30"


def test_random_split_deterministic_and_seed_dependent(ravdess):
    a = random_split(ravdess, seed=0)
    b = random_split(list(reversed(ravdess)), seed=0)  # input order does not matter
    c = random_split(ravdess, seed=1)
    assert a == b
    assert a.test_ids != c.test_ids
    assert len(a.test_ids) == len(c.test_ids)


def test_random_split_unstratified():
    recs = [ClipRecord("x", f"c{i}", "a" if i < 3 else "b", "s", "s") for i in range(10)]
    split = random_split(recs, test_fraction=0.2, seed=3, stratify=False)
    assert len(split.test_ids) == 2
    assert_disjoint(split)


def test_random_split_leaks_speakers_and_twins(ravdess):
    split = random_split(ravdess, seed=0)
    assert len(speaker_overlap(split, ravdess)) == 24
    with pytest.raises(ValueError, match="ravdess-01"):
        assert_no_speaker_overlap(split, ravdess)
    n = count_straddling_twins(split, ravdess)
    # Expected about 720 * 2 * 0.8 * 0.2 = 230 pairs; bounds are loose, the exact count is
    # checked by brute force below.
    assert 150 < n < 320
    test = set(split.test_ids)
    brute = 0
    by_take: dict[tuple, list[str]] = {}
    for r in ravdess:
        take = (r.meta["actor"], r.meta["emotion"], r.meta["intensity"], r.meta["statement"])
        by_take.setdefault(take, []).append(r.clip_id)
    for ids in by_take.values():
        sides = {i in test for i in ids}
        brute += len(sides) == 2
    assert n == brute


# ---------------------------------------------------------------------------------------------
# twins


def test_twins_counted_on_hand_made_splits(ravdess):
    all_ids = [r.clip_id for r in ravdess]
    rep2 = [r.clip_id for r in ravdess if r.meta["repetition"] == "02"]
    rep1 = [i for i in all_ids if i not in set(rep2)]
    # Every repetition 02 in test: every take straddles.
    assert count_straddling_twins(Split("r", rep1, rep2, "hand"), ravdess) == 720
    # Whole actors in test: no take straddles.
    actor1 = [r.clip_id for r in ravdess if r.meta["actor"] == "01"]
    rest = [i for i in all_ids if i not in set(actor1)]
    assert count_straddling_twins(Split("a", rest, actor1, "hand"), ravdess) == 0
    # Exactly three takes split across train and test (one in test, its twin in training), and
    # one take with both repetitions in test.
    test = [
        "01-01-05-02-01-01-03",
        "01-01-01-01-02-02-07",
        "01-01-08-01-01-02-24",
        "01-01-04-02-02-01-10",
        "01-01-04-02-02-02-10",
    ]
    train = [i for i in all_ids if i not in set(test)]
    split = Split("h", train, test, "hand")
    assert count_straddling_twins(split, ravdess) == 3
    # Validation counts as the training side: the twin of test[3] moves to validation.
    val = ["01-01-04-02-02-02-10"]
    train_v = [i for i in all_ids if i not in set(test[:4]) | set(val)]
    split_v = Split("v", train_v, test[:4], "hand", val_ids=val)
    assert count_straddling_twins(split_v, ravdess) == 4


def test_twin_key_from_clip_id_without_meta():
    recs = ravdess_records(n_actors=2, with_meta=False)
    keys = Counter(twin_key(r) for r in recs)
    assert len(keys) == 60 and set(keys.values()) == {2}


def test_twin_key_loader_style_meta_matches_file_stem():
    # The RAVDESS loader writes names ("strong", "speech") and emotion_code; keys must agree
    # with those parsed from the stem, whatever the clip id looks like.
    stem = ClipRecord("ravdess", "01-01-05-02-01-01-03", "angry", "ravdess-03", "ravdess-03")
    loader = ClipRecord(
        "ravdess",
        "take-a",
        "angry",
        "ravdess-03",
        "ravdess-03",
        meta={
            "actor": "03",
            "vocal_channel": "speech",
            "emotion_code": "05",
            "intensity": "strong",
            "statement": "01",
            "repetition": "2",
            "sex": "male",
        },
    )
    assert twin_key(stem) == twin_key(loader)
    song = ClipRecord("ravdess", "01-02-05-02-01-02-03", "angry", "ravdess-03", "ravdess-03")
    assert twin_key(song) != twin_key(stem)  # sung and spoken takes are not twins


def test_twin_key_other_datasets_and_missing_fields():
    assert twin_key(cremad_records(1, 1)[0]) is None
    assert twin_key(iemocap_records(1)[0]) is None
    bad = ClipRecord("ravdess", "clip7", "happy", "ravdess-07", "ravdess-07", meta={})
    with pytest.raises(ValueError, match="clip7"):
        twin_key(bad)


# ---------------------------------------------------------------------------------------------
# held-out folds


def _check_partition(folds, records):
    all_ids = {r.clip_id for r in records}
    tested = [i for f in folds for i in f.test_ids]
    assert len(tested) == len(all_ids) and set(tested) == all_ids  # each clip tested once
    for f in folds:
        assert_disjoint(f)
        assert set(f.train_ids) | set(f.test_ids) == all_ids
        assert_no_speaker_overlap(f, records)
        assert speaker_overlap(f, records) == set()
        assert count_straddling_twins(f, records) == 0


def test_ravdess_default_folds(ravdess):
    folds = held_out_folds(ravdess)
    assert len(folds) == 6
    _check_partition(folds, ravdess)
    assert held_out_folds(list(reversed(ravdess))) == folds  # no seed: one fixed assignment
    for f in folds:  # four actors per fold, two male (odd) and two female (even)
        actors = [int(g.rsplit("-", 1)[1]) for g in f.test_groups]
        assert len(actors) == 4 and sorted(a % 2 for a in actors) == [0, 0, 1, 1], actors
    assert [f.test_groups[0] for f in folds] == [f"ravdess-{a:02d}" for a in range(1, 7)]
    assert all(f.protocol == HELD_OUT_ACTORS for f in folds)
    assert folds[0].name == "ravdess-held-out-actors-fold1of6"
    assert all(len(f.test_ids) == 4 * 60 for f in folds)


def test_ravdess_seeded_folds_both_sexes(ravdess):
    a = held_out_folds(ravdess, seed=0)
    b = held_out_folds(list(reversed(ravdess)), seed=0)
    c = held_out_folds(ravdess, seed=1)
    assert a == b
    assert [f.test_groups for f in a] != [f.test_groups for f in c]
    for folds in (a, c):
        _check_partition(folds, ravdess)
        for f in folds:
            actors = [int(g.rsplit("-", 1)[1]) for g in f.test_groups]
            assert len(actors) == 4
            assert {a % 2 for a in actors} == {0, 1}, f.test_groups  # male and female


def test_cremad_folds_balanced_and_mixed_sex():
    recs = cremad_records()
    folds = held_out_folds(recs, seed=0)
    assert len(folds) == 5
    _check_partition(folds, recs)
    sizes = sorted(len(f.test_groups) for f in folds)
    assert sizes[-1] - sizes[0] <= 1 and sum(sizes) == 91
    sex = {r.group: r.meta["sex"] for r in recs}
    for f in folds:
        assert {sex[g] for g in f.test_groups} == {"male", "female"}
    for f in held_out_folds(recs):  # unseeded natural-order blocks
        assert {sex[g] for g in f.test_groups} == {"male", "female"}


def test_single_sex_blocks_are_dealt_by_sex_instead():
    # Speakers 1-10 male, 11-20 female: contiguous blocks of 10 would be single-sex.
    recs = [
        ClipRecord("x", f"{s}-{i}", "a" if i else "b", f"s{s}", f"s{s}",
                   meta={"sex": "M" if s <= 10 else "F"})
        for s in range(1, 21)
        for i in range(2)
    ]  # fmt: skip
    assert [f.protocol for f in held_out_folds(recs)] == ["held-out-groups"] * 5  # unregistered
    for seed in (None, 0):
        folds = held_out_folds(recs, n_folds=2, seed=seed)
        _check_partition(folds, recs)
        for f in folds:
            sexes = Counter("M" if int(g[1:]) <= 10 else "F" for g in f.test_groups)
            assert sexes == {"M": 5, "F": 5}
    # Too few of one sex to mix every fold: folds are balanced by size only.
    few = [r for r in recs if int(r.group[1:]) <= 11]
    folds = held_out_folds(few, n_folds=2)
    _check_partition(folds, few)
    assert sorted(len(f.test_groups) for f in folds) == [5, 6]


def test_iemocap_leave_one_session_out():
    recs = iemocap_records()
    folds = held_out_folds(recs)
    assert len(folds) == 5
    assert [f.test_groups for f in folds] == [(f"Ses{s:02d}",) for s in range(1, 6)]
    assert all(f.protocol == LEAVE_ONE_SESSION_OUT for f in folds)
    _check_partition(folds, recs)
    assert len(folds[0].test_ids) == 24


def test_fold_size_and_n_folds(ravdess):
    assert len(held_out_folds(ravdess, n_folds=4)) == 4
    assert len(held_out_folds(ravdess, fold_size=6)) == 4
    assert len(held_out_folds(ravdess, n_folds=24)) == 24
    with pytest.raises(ValueError, match="disagree"):
        held_out_folds(ravdess, n_folds=5, fold_size=4)


# ---------------------------------------------------------------------------------------------
# validation


def test_validation_random_never_touches_test(ravdess):
    split = random_split(ravdess, seed=0)
    train, val = validation_split(split.train_ids, ravdess, fraction=0.1, seed=0)
    assert set(train) | set(val) == set(split.train_ids)
    assert not set(train) & set(val)
    assert not set(val) & set(split.test_ids)
    assert abs(len(val) - 0.1 * len(split.train_ids)) <= len(RAVDESS_EMOTIONS)
    assert validation_split(split.train_ids, ravdess, seed=0) == (train, val)
    assert validation_split(split.train_ids, ravdess, seed=1) != (train, val)


def test_validation_keeps_a_single_clip_class_in_training():
    recs = [ClipRecord("x", f"c{i:02d}", "a" if i < 20 else "b", "s", "s") for i in range(21)]
    train, val = validation_split([r.clip_id for r in recs], recs, fraction=0.2, seed=0)
    assert "c20" in train and len(val) == 4 and set(train) | set(val) == {r.clip_id for r in recs}


def test_validation_by_group(ravdess):
    fold = held_out_folds(ravdess)[0]
    s = with_validation(fold, ravdess, fraction=0.1, seed=0, by="group")
    assert_disjoint(s)
    assert s.test_ids == fold.test_ids
    assert set(s.train_ids) | set(s.val_ids) == set(fold.train_ids)
    index = {r.clip_id: r for r in ravdess}
    val_groups = {index[i].group for i in s.val_ids}
    train_groups = {index[i].group for i in s.train_ids}
    assert len(val_groups) == 2 and not val_groups & train_groups  # round(20 * 0.1) actors
    assert not val_groups & set(fold.test_groups)
    with pytest.raises(ValueError, match="already has a validation"):
        with_validation(s, ravdess)


def test_validation_by_speaker_iemocap():
    recs = iemocap_records()
    fold = held_out_folds(recs)[0]
    train, val = validation_split(fold.train_ids, recs, fraction=0.125, by="speaker")
    index = {r.clip_id: r for r in recs}
    assert len({index[i].speaker for i in val}) == 1
    assert not {index[i].speaker for i in val} & {index[i].speaker for i in train}


def test_validation_errors(ravdess):
    with pytest.raises(ValueError, match="not among the records"):
        validation_split(["nope"], ravdess)
    with pytest.raises(ValueError, match="by must be"):
        validation_split([ravdess[0].clip_id, ravdess[1].clip_id], ravdess, by="actor")
    with pytest.raises(ValueError, match="at least 2 groups"):
        validation_split([ravdess[0].clip_id, ravdess[1].clip_id], ravdess, by="group")
    with pytest.raises(ValueError, match="no training ids"):
        validation_split([], ravdess)


# ---------------------------------------------------------------------------------------------
# serialisation and reports


def test_split_json_round_trip(ravdess, tmp_path):
    split = with_validation(random_split(ravdess, seed=4), ravdess, seed=2)
    assert Split.from_json(split.to_json()) == split
    fold = held_out_folds(ravdess, seed=3)[2]
    path = fold.save(tmp_path / "run" / "split.json")
    assert Split.load(path) == fold
    with pytest.raises(ValueError, match="does not parse"):
        Split.from_json("{")
    with pytest.raises(ValueError, match="lacks"):
        Split.from_json('{"name": "x"}')


def test_leakage_report(ravdess):
    split = random_split(ravdess, seed=0)
    rep = leakage_report(split, ravdess)
    assert rep["n_train"] == 1152 and rep["n_test"] == 288 and rep["n_val"] == 0
    assert rep["n_speakers_both_sides"] == 24 and len(rep["speakers_both_sides"]) == 24
    assert rep["speakers_both_sides"][:2] == ["ravdess-01", "ravdess-02"]
    assert rep["n_twin_groups"] == 720
    assert rep["twins_straddling"] == count_straddling_twins(split, ravdess)
    assert rep["ids_in_two_parts"] == 0
    fold_rep = leakage_report(held_out_folds(ravdess)[1], ravdess)
    assert fold_rep["n_speakers_both_sides"] == 0 and fold_rep["twins_straddling"] == 0
    assert fold_rep["n_speakers_test"] == 4 and fold_rep["n_speakers_train"] == 20


def test_assert_disjoint_names_ids():
    split = Split("bad", ["a", "b"], ["b", "c"], "hand")
    with pytest.raises(ValueError, match="both train and test: b"):
        assert_disjoint(split)
    records = [ClipRecord("x", i, "l", "s", "g") for i in "abc"]
    assert leakage_report(split, records)["ids_in_two_parts"] == 1


# ---------------------------------------------------------------------------------------------
# errors


def test_errors(ravdess):
    with pytest.raises(ValueError, match="no records"):
        random_split([])
    with pytest.raises(ValueError, match="no records"):
        held_out_folds([])
    lonely = [*ravdess[:10], ClipRecord("ravdess", "odd", "rare", "ravdess-01", "ravdess-01")]
    with pytest.raises(ValueError, match="class 'rare' has 1 clip"):
        random_split(lonely)
    random_split(lonely, stratify=False)  # fine without stratification
    with pytest.raises(ValueError, match="more than the 24 groups"):
        held_out_folds(ravdess, n_folds=25)
    with pytest.raises(ValueError, match="more than the 5 groups"):
        held_out_folds(iemocap_records(2), n_folds=6)
    with pytest.raises(ValueError, match="strictly between"):
        random_split(ravdess, test_fraction=1.0)
    with pytest.raises(ValueError, match="occurs twice"):
        random_split([ravdess[0], ravdess[0], ravdess[1]])
    with pytest.raises(ValueError, match="one dataset"):
        held_out_folds(ravdess[:5] + iemocap_records(1))
    with pytest.raises(ValueError, match="not among the records"):
        count_straddling_twins(Split("x", ["zz"], ["yy"], "hand"), ravdess)
    with pytest.raises(ValueError) as err:
        held_out_folds(ravdess, n_folds=25)
    assert "\n" not in str(err.value)
