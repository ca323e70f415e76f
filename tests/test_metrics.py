"""Tests of cmaf.evaluation.metrics against hand-computed values and scikit-learn."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from cmaf.evaluation.metrics import (
    Report,
    aggregate_seeds,
    bootstrap_ci,
    classification_report,
    cluster_bootstrap,
    format_mean_std,
    normalize_rows,
)

NAMES4 = ["angry", "calm", "sad", "surprise"]
# Class 2 ("sad") is never predicted; class 3 ("surprise") never occurs in y_true.
Y_TRUE = [0, 0, 0, 1, 1, 2, 2, 2]
Y_PRED = [0, 0, 1, 1, 3, 0, 1, 3]


def _sk_prf(y_true, y_pred, c, average=None):
    return skm.precision_recall_fscore_support(
        y_true, y_pred, labels=list(range(c)), average=average, zero_division=0
    )


def _sk_ua(y_true, y_pred):
    with warnings.catch_warnings():  # sklearn warns when a y_pred class is absent from y_true
        warnings.simplefilter("ignore")
        return skm.balanced_accuracy_score(y_true, y_pred)


def _random_case(seed, n=300, c=6, drop_pred=None, drop_true=None):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, c, size=n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, c, size=n))
    if drop_pred is not None:  # a class never predicted
        y_pred[y_pred == drop_pred] = (drop_pred + 1) % c
    if drop_true is not None:  # a class absent from y_true
        y_true[y_true == drop_true] = (drop_true + 1) % c
    return y_true, y_pred


# --------------------------------------------------------------------------- hand-computed


def test_hand_computed_example():
    rep = classification_report(Y_TRUE, Y_PRED, NAMES4)
    expected = {  # precision, recall, f1, support
        "angry": (2 / 3, 2 / 3, 2 / 3, 3),
        "calm": (1 / 3, 1 / 2, 0.4, 2),
        "sad": (0.0, 0.0, 0.0, 3),
        "surprise": (0.0, 0.0, 0.0, 0),
    }
    for row in rep.per_class:
        p, r, f, s = expected[row.name]
        assert row.precision == pytest.approx(p)
        assert row.recall == pytest.approx(r)
        assert row.f1 == pytest.approx(f)
        assert row.support == s
    assert rep.macro.precision == pytest.approx(0.25)
    assert rep.macro.recall == pytest.approx(7 / 24)
    assert rep.macro.f1 == pytest.approx(4 / 15)
    assert rep.weighted_f1 == pytest.approx(0.35)
    assert rep.accuracy == pytest.approx(3 / 8)
    assert rep.wa == rep.accuracy
    assert rep.ua == pytest.approx(7 / 18)  # mean recall over the 3 classes present
    assert rep.num_samples == 8
    np.testing.assert_array_equal(
        rep.confusion, [[2, 1, 0, 0], [0, 1, 0, 1], [1, 1, 0, 1], [0, 0, 0, 0]]
    )
    assert rep.confusion.dtype == np.int64


def test_single_class():
    rep = classification_report([0, 0, 0], [0, 0, 0], ["only"])
    assert (rep.accuracy, rep.ua, rep.macro.f1, rep.per_class[0].support) == (1.0, 1.0, 1.0, 3)
    np.testing.assert_array_equal(rep.confusion, [[3]])
    # one class present of two, never predicted: everything 0, the absent class included
    rep = classification_report([1, 1], [0, 0], ["a", "b"])
    assert (rep.accuracy, rep.ua, rep.macro.precision, rep.macro.f1) == (0.0, 0.0, 0.0, 0.0)


def test_perfect_predictions():
    y = [0, 1, 2, 2, 1]
    rep = classification_report(y, y, ["a", "b", "c"])
    assert rep.accuracy == rep.ua == rep.macro.f1 == rep.weighted_f1 == 1.0
    assert all(r.precision == r.recall == r.f1 == 1.0 for r in rep.per_class)


# --------------------------------------------------------------------------- scikit-learn


@pytest.mark.parametrize(
    ("y_true", "y_pred", "c"),
    [
        (Y_TRUE, Y_PRED, 4),
        (*_random_case(0), 6),
        (*_random_case(1, drop_pred=2), 6),
        (*_random_case(2, drop_true=4), 6),
        (*_random_case(3, drop_pred=1, drop_true=5), 6),
        (*_random_case(4, n=50, c=8, drop_pred=0, drop_true=7), 8),
    ],
)
def test_matches_sklearn(y_true, y_pred, c):
    names = [f"class{i}" for i in range(c)]
    rep = classification_report(y_true, y_pred, names)

    p, r, f, s = _sk_prf(y_true, y_pred, c)
    np.testing.assert_allclose([row.precision for row in rep.per_class], p)
    np.testing.assert_allclose([row.recall for row in rep.per_class], r)
    np.testing.assert_allclose([row.f1 for row in rep.per_class], f)
    np.testing.assert_array_equal([row.support for row in rep.per_class], s)

    mp, mr, mf, _ = _sk_prf(y_true, y_pred, c, average="macro")
    assert rep.macro.precision == pytest.approx(mp)
    assert rep.macro.recall == pytest.approx(mr)
    assert rep.macro.f1 == pytest.approx(mf)
    _, _, wf, _ = _sk_prf(y_true, y_pred, c, average="weighted")
    assert rep.weighted_f1 == pytest.approx(wf)

    assert rep.accuracy == rep.wa == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert rep.ua == pytest.approx(_sk_ua(y_true, y_pred))
    np.testing.assert_array_equal(
        rep.confusion, skm.confusion_matrix(y_true, y_pred, labels=list(range(c)))
    )


# --------------------------------------------------------------------------- input types


def test_accepts_lists_arrays_tensors():
    torch = pytest.importorskip("torch")
    expected = classification_report(Y_TRUE, Y_PRED, NAMES4).to_dict()
    for conv in (np.asarray, lambda x: np.asarray(x, dtype=np.int32), torch.tensor):
        got = classification_report(conv(Y_TRUE), conv(Y_PRED), NAMES4).to_dict()
        assert got == expected
    # integral floats are accepted too
    got = classification_report(np.asarray(Y_TRUE, float), np.asarray(Y_PRED, float), NAMES4)
    assert got.to_dict() == expected


def test_to_dict_is_json_ready_and_to_frame_layout():
    rep = classification_report(Y_TRUE, Y_PRED, NAMES4)
    d = json.loads(json.dumps(rep.to_dict()))
    assert d["per_class"]["calm"]["f1"] == pytest.approx(0.4)
    assert d["macro"]["f1"] == pytest.approx(4 / 15)
    assert d["confusion_matrix"][0] == [2, 1, 0, 0]
    assert {"accuracy", "wa", "ua", "weighted_f1"} <= set(d)

    frame = rep.to_frame()
    assert list(frame.columns) == ["precision", "recall", "f1", "support"]
    assert list(frame.index) == [*NAMES4, "macro avg"]
    assert frame.loc["macro avg", "f1"] == pytest.approx(4 / 15)
    assert frame.loc["macro avg", "support"] == 8
    assert frame["support"].dtype == np.int64
    assert rep.to_frame(percent=True).loc["calm", "f1"] == pytest.approx(40.0)


# --------------------------------------------------------------------------- confusion


def test_normalize_rows_no_nan():
    norm = normalize_rows([[2, 1, 0, 0], [0, 1, 0, 1], [1, 1, 0, 1], [0, 0, 0, 0]])
    np.testing.assert_allclose(
        norm, [[2 / 3, 1 / 3, 0, 0], [0, 1 / 2, 0, 1 / 2], [1 / 3, 1 / 3, 0, 1 / 3], [0, 0, 0, 0]]
    )
    np.testing.assert_allclose(np.diag(norm), [2 / 3, 1 / 2, 0, 0])  # the recalls (Eq. 7)
    np.testing.assert_array_equal(normalize_rows(np.zeros((3, 3))), np.zeros((3, 3)))


# --------------------------------------------------------------------------- bootstrap


@pytest.mark.parametrize("metric", ["accuracy", "macro_f1", "ua"])
def test_bootstrap_contains_point_and_is_deterministic(metric):
    y_true, y_pred = _random_case(5, n=400, c=6)
    point = {
        "accuracy": skm.accuracy_score(y_true, y_pred),
        "macro_f1": skm.f1_score(y_true, y_pred, average="macro"),
        "ua": skm.balanced_accuracy_score(y_true, y_pred),
    }[metric]
    low, high = bootstrap_ci(y_true, y_pred, metric, n_boot=500, seed=3)
    assert low <= point <= high
    assert low < high
    assert bootstrap_ci(y_true, y_pred, metric, n_boot=500, seed=3) == (low, high)
    assert bootstrap_ci(y_true, y_pred, metric, n_boot=500, seed=4) != (low, high)


@pytest.mark.parametrize("metric", ["accuracy", "wa", "macro_f1", "ua"])
def test_bootstrap_named_matches_sklearn_per_resample(metric):
    # Absent classes in the data and in resamples: the vectorised metric must still be
    # scikit-learn's (the same seed draws the same resamples for the callable).
    y_true, y_pred = _random_case(6, n=60, c=6, drop_pred=2, drop_true=4)
    sklearn_metric = {
        "accuracy": skm.accuracy_score,
        "wa": skm.accuracy_score,
        "macro_f1": lambda t, p: skm.f1_score(
            t, p, labels=list(range(6)), average="macro", zero_division=0
        ),
        "ua": _sk_ua,
    }[metric]
    for alpha in (0.05, 0.5):
        named = bootstrap_ci(y_true, y_pred, metric, n_boot=100, alpha=alpha, num_classes=6)
        called = bootstrap_ci(y_true, y_pred, sklearn_metric, n_boot=100, alpha=alpha)
        assert named == pytest.approx(called, abs=1e-12)


def test_bootstrap_narrows_with_more_data():
    small = _random_case(7, n=100, c=4)
    large = _random_case(7, n=5000, c=4)
    lo_s, hi_s = bootstrap_ci(*small, "accuracy", n_boot=500)
    lo_l, hi_l = bootstrap_ci(*large, "accuracy", n_boot=500)
    assert hi_l - lo_l < (hi_s - lo_s) / 3


def test_cluster_bootstrap_hand_computed():
    # Sample 0 has only speaker "a" (2 of 3 right), sample 1 only "b" (1 of 4 right). A
    # resample draws two speakers: "a" twice leaves sample 1 without clips (NaN), "b" twice
    # sample 0, each with probability 1/4; otherwise both get their full accuracy.
    samples = [([1, 1, 0], ["a"] * 3), ([1, 0, 0, 0], ["b"] * 4)]
    boot = cluster_bootstrap(samples, n_boot=4000, seed=0)
    assert boot.shape == (4000, 2)
    nan = np.isnan(boot)
    np.testing.assert_allclose(boot[~nan[:, 0], 0], 2 / 3)
    np.testing.assert_allclose(boot[~nan[:, 1], 1], 1 / 4)
    assert not (nan[:, 0] & nan[:, 1]).any()
    assert nan.mean(axis=0) == pytest.approx([0.25, 0.25], abs=0.03)
    np.testing.assert_array_equal(boot, cluster_bootstrap(samples, n_boot=4000, seed=0))


# --------------------------------------------------------------------------- seeds


def test_aggregate_seeds_known_numbers():
    agg = aggregate_seeds(
        [{"acc": 0.90, "f1": 0.5}, {"acc": 0.92, "f1": 0.5}, {"acc": 0.94, "f1": 0.5}]
    )
    assert agg["acc"][0] == pytest.approx(0.92)
    assert agg["acc"][1] == pytest.approx(0.02)  # sample std, ddof=1
    assert agg["f1"] == pytest.approx((0.5, 0.0))
    assert aggregate_seeds([{"acc": 0.7}]) == {"acc": (0.7, 0.0)}  # one seed: std 0


def test_aggregate_seeds_accepts_reports():
    reps = [classification_report(Y_TRUE, Y_PRED, NAMES4)] * 2
    agg = aggregate_seeds(reps)
    assert isinstance(reps[0], Report)
    assert agg["macro_f1"] == pytest.approx((4 / 15, 0.0))
    assert agg["f1/calm"] == pytest.approx((0.4, 0.0))


def test_format_mean_std():
    assert format_mean_std(0.9246, 0.0031) == "92.46 ± 0.31"
    assert format_mean_std(92.456, 0.31, digits=1, percent=False) == "92.5 ± 0.3"


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: classification_report([0, 1], [0], ["a", "b"]), "differ in length"),
        (lambda: classification_report([], [], ["a"]), "empty"),
        (lambda: classification_report([0, 2], [0, 1], ["a", "b"]), "outside"),
        (lambda: classification_report([0, 1], [0, -1], ["a", "b"]), "outside"),
        (lambda: classification_report([0, 1], [0, 1], []), "class_names"),
        (lambda: classification_report([0, 1], [0, 1], ["a", "a"]), "duplicates"),
        (lambda: classification_report([0.5, 1], [0, 1], ["a", "b"]), "integer"),
        (lambda: classification_report([[0, 1]], [[0, 1]], ["a", "b"]), "1-D"),
        (lambda: classification_report([True, False], [0, 1], ["a", "b"]), "integer"),
        (lambda: bootstrap_ci([0, 1], [0, 1], "ua", num_classes=0), "num_classes"),
        (lambda: bootstrap_ci([0, 1, 2], [0, 1], "accuracy"), "differ in length"),
        (lambda: bootstrap_ci([0, 3], [0, 1], "ua", num_classes=3), "outside"),
        (lambda: bootstrap_ci([0, 1], [0, 1], 5), "unknown metric"),
        (lambda: normalize_rows([1, 2, 3]), "2-D"),
        (lambda: bootstrap_ci([0, 1], [0, 1], "nope"), "unknown metric"),
        (lambda: bootstrap_ci([0, 1], [0, 1], "accuracy", n_boot=0), "n_boot"),
        (lambda: bootstrap_ci([0, 1], [0, 1], "accuracy", alpha=1.5), "alpha"),
        (lambda: bootstrap_ci([], [], "accuracy"), "empty"),
        (lambda: aggregate_seeds([]), "at least one"),
        (lambda: aggregate_seeds([{"a": 1.0}, {"b": 1.0}]), "different metric keys"),
    ],
)
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
