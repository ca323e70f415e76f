"""cmaf.paper's transcription, the plot helpers, and the alignment / correlation analyses."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from cmaf import paper
from cmaf.data import crema_d, iemocap, ravdess
from cmaf.evaluation import alignment, correlation

# ------------------------------------------------------------------------------ cmaf.paper


@pytest.mark.parametrize(
    ("dataset", "classes"),
    [("ravdess", ravdess.CLASSES), ("crema-d", crema_d.CLASSES), ("iemocap", iemocap.CLASSES)],
)
def test_per_class_tables_use_the_loaders_labels(dataset, classes):
    table = paper.per_class_table(dataset)
    assert table.shape == (len(classes), 5)
    assert set(table.index) == set(classes)
    assert table[["precision", "recall", "f1"]].to_numpy().min() > 50
    assert table["source"].nunique() == 1


def test_table_sources():
    sources = {r.dataset: r.source for r in paper.PER_CLASS}
    assert sources == {"ravdess": "Table 1", "crema-d": "Table 2", "iemocap": "Table 3"}
    assert {c.source for c in paper.CITED} == {"Table 5", "Table 6", "Table 7"}
    assert all(r.source == "Table 4" for r in paper.TABLE4)
    assert all(p.source == "Table A2" for p in paper.DATASET_PROFILES)


def test_f1_is_the_harmonic_mean_of_precision_and_recall():
    check = paper.f1_consistency()
    assert len(check) == 8 + 6 + 8
    assert check["consistent"].all(), check[~check["consistent"]]


def test_f1_consistency_flags_a_printed_f1_that_is_not_the_harmonic_mean(monkeypatch):
    bad = paper.PerClassResult("ravdess", "X", "x", 90.0, 80.0, 86.0, "test")
    monkeypatch.setattr(paper, "PER_CLASS", (*paper.PER_CLASS, bad))
    check = paper.f1_consistency()
    assert list(check.loc[~check["consistent"], "label"]) == ["x"]


def test_table4_and_its_relation_to_tables_1_and_5_to_7():
    t4 = paper.table4()
    assert list(t4.columns[:3]) == list(paper.TABLE4_COLUMNS)
    proposed = paper.cited_methods().query("source_ref.isna()")
    for row in paper.TABLE4:
        acc = proposed.loc[proposed["dataset"] == row.dataset, "accuracy"].item()
        assert acc == row.weighted_accuracy  # "Weighted Accuracy" = Tables 5-7's accuracy
    # UA as the literature defines it (mean recall of Table 1) is not Table 4's 88.74
    assert paper.mean_recall("ravdess") == pytest.approx(92.39125)
    assert abs(paper.mean_recall("ravdess") - t4.loc["ravdess", "Unweighted Accuracy"]) > 3


def test_cited_methods_and_references():
    frame = paper.cited_methods()
    assert frame.groupby("dataset").size().to_dict() == {"ravdess": 6, "crema-d": 4, "iemocap": 2}
    pytest.importorskip("pybtex", reason="the reference list is read with pybtex (book extra)")
    assert len(paper.REFERENCES) == 88
    for ref in frame["source_ref"].dropna():
        assert int(ref) in paper.REFERENCES
    for strategy in paper.FUSION_TAXONOMY:
        assert all(n in paper.REFERENCES for n in strategy.refs)


def test_study_flow_and_stated_values():
    flow = paper.study_flow()
    assert flow["count"].tolist() == [178, 150, 92, 68]
    assert flow["removed"].tolist()[1:] == [28, 58, 24]
    assert paper.stated("hop_ms") == 10.0
    with pytest.raises(KeyError):
        paper.stated("nope")
    profiles = paper.dataset_profiles()
    assert profiles.loc["iemocap", "n_labels"] == 9
    assert paper.canonical_label("Frustration") == "frustrated"
    for rows in paper.LABEL_MAPS.values():
        assert all(paper.canonical_label(word) == label for word, label in rows.items())


def test_compare_per_class_and_accuracy():
    classes = list(ravdess.CLASSES)
    stats = {"accuracy": [0.5, 0.1], "ua": [0.4, 0.05]}
    for c in classes[:-1]:
        for m in ("precision", "recall", "f1"):
            stats[f"{m}/{c}"] = [0.5, 0.02]
    table = paper.compare_per_class({"mean_std": stats}, "ravdess")
    assert table.loc["angry", "f1 mean"] == pytest.approx(50.0)
    assert table.loc["angry", "f1 Δ"] == pytest.approx(50.0 - 92.46)
    assert np.isnan(table.loc[classes[-1], "f1 mean"])
    acc = paper.compare_accuracy({"mean_std": stats}, "ravdess", [{"accuracy": [0.4, 0.6]}])
    assert acc.loc["WA", "paper"] == 92.46
    assert acc.loc["WA", "95% CI per run"] == "[40.0, 60.0]"


# ------------------------------------------------------------------------------ alignment


def test_alignment_scores_identity_and_uniform():
    t, k = 60, 3
    eye = np.eye(t)
    uniform = np.full((t, t), 1.0 / t)
    assert alignment.band_mass(eye, k) == pytest.approx(1.0)
    expected = alignment.uniform_band_mass(t, t, k)
    assert expected == pytest.approx(((2 * k + 1) * t - k * (k + 1)) / t / t)
    assert alignment.band_mass(uniform, k) == pytest.approx(expected)
    assert alignment.time_correlation(eye) == pytest.approx(1.0)
    assert np.isnan(alignment.time_correlation(uniform))
    shifted = np.roll(eye, 10, axis=1)
    assert alignment.band_mass(shifted, k) < 0.25


def test_alignment_table_on_run_like_maps():
    rng = np.random.default_rng(0)
    att = rng.random((3, 4, 60, 60))
    att[0] = np.eye(60)
    att /= att.sum(-1, keepdims=True)
    maps = {"clip_ids": np.array(["a", "b", "c"]), "labels": np.array([0, 1, 0]),
            "audio_to_visual": att, "visual_to_audio": att}  # fmt: skip
    table = alignment.alignment_table(maps, k=2, class_names=["x", "y"])
    assert table.loc[0, "band_mass"] == pytest.approx(1.0)
    assert table.loc[1, "ratio"] == pytest.approx(1.0, abs=0.15)
    assert list(table["label"]) == ["x", "y", "x"]
    offsets, profile, flat = alignment.diagonal_profile(att[0], max_offset=5)
    assert profile[offsets == 0][0] == pytest.approx(1.0)
    assert flat[0] == pytest.approx(1 / 60)


# ------------------------------------------------------------------------------ correlation


def test_correlation_finds_a_planted_correlation():
    rng = np.random.default_rng(1)
    n = 500
    mouth = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "clip_id": np.repeat(["a", "b"], n // 2),
            "intensity_db": 2 * mouth + 0.3 * rng.normal(size=n),
            "f0_hz": rng.normal(size=n),
            "mouth_opening": mouth,
            "brow_raise": rng.normal(size=n),
        }
    )
    frame.loc[::7, "f0_hz"] = np.nan  # unvoiced frames are skipped pairwise
    corr = correlation.correlation_matrix(
        frame, rows=("intensity_db", "f0_hz"), columns=("mouth_opening", "brow_raise")
    )
    assert corr.loc["intensity_db", "mouth_opening"] > 0.95
    assert abs(corr.loc["f0_hz", "brow_raise"]) < 0.15
    within = correlation.correlation_matrix(
        frame, rows=("intensity_db",), columns=("mouth_opening",), within="clip_id"
    )
    assert within.iloc[0, 0] > 0.95


def test_acoustic_features_measure_pitch_and_level():
    sr = 16000
    t = np.arange(sr) / sr
    tone = 0.5 * np.sign(np.sin(2 * np.pi * 150 * t)) * (t < 0.5)  # voiced half, then silence
    feats = correlation.acoustic_features(tone[None].astype(np.float32), sr, [0.25, 0.75])
    assert feats.loc[0, "f0_hz"] == pytest.approx(150, rel=0.03)
    assert np.isnan(feats.loc[1, "f0_hz"])
    assert feats.loc[0, "intensity_db"] > feats.loc[1, "intensity_db"] + 40


# ------------------------------------------------------------------------------ plots


def test_every_plot_helper_returns_a_figure():
    from cmaf import plots

    rng = np.random.default_rng(0)
    names = ["a", "b", "c"]
    cm = np.array([[3, 1, 0], [0, 2, 1], [1, 0, 4]])
    history = [
        {"epoch": e, "train_loss": 1.0 / e, "val_loss": 1.1 / e, "train_accuracy": 0.3 * e,
         "val_accuracy": 0.25 * e, "val_macro_f1": 0.2 * e} for e in (1, 2, 3)
    ]  # fmt: skip
    comparison = pd.DataFrame(
        {"f1 mean": [50.0, np.nan], "f1 std": [2.0, np.nan], "f1 paper": [90.0, 91.0],
         "f1 Δ": [-40.0, np.nan]}, index=["angry", "calm"],
    )  # fmt: skip
    models = pd.DataFrame({"method": ["x", "y"], "accuracy": [50.0, 60.0], "std": [1.0, 0.0],
                           "group": ["ours", "paper"]})  # fmt: skip
    att = rng.random((2, 6, 6))
    offsets, profile, _ = alignment.diagonal_profile(att)
    corr = pd.DataFrame(rng.uniform(-1, 1, (2, 3)), index=["p", "q"], columns=["r", "s", "t"])
    rows = [("audio_encoder", (1, 60, 32), 100), ("visual_backbone", (1, 4, 512), 10),
            ("classifier", (1, 8), 5), ("extra_block", (1, 2), 1)]  # fmt: skip
    manifest = pd.DataFrame({"label": ["a", "b", "a"], "speaker": ["s1", "s1", "s2"]})
    protocols = pd.DataFrame({"model": ["m", "m", "n"], "protocol": ["random", "held-out",
                              "random"], "runs": [1, 3, 1], "accuracy mean": [60.0, 40.0, 50.0],
                              "accuracy std": [0.0, 5.0, 0.0]})  # fmt: skip
    row = {"batch": 32, "factorised_ms": 10.0, "factorised_macs_per_sample": 5e6,
           "literal_macs_per_sample": 9e7}  # fmt: skip
    tucker = {
        "scaling_time_steps": [{**row, "time_steps": t, "ranks": [30, 8, 8]} for t in (15, 30)],
        "scaling_ranks": [{**row, "time_steps": 60, "ranks": [k, 8, 8]} for k in (4, 8)],
    }
    figures = [
        plots.plot_confusion(cm, names),
        plots.plot_confusion(cm, names, mode="rows", title="t"),
        plots.plot_confusion_grid({"audio": (cm, names), "video": (cm.T, names)}),
        plots.plot_training_curves(history),
        plots.plot_training_curves({"r1": history, "r2": pd.DataFrame(history)}),
        plots.plot_per_class_comparison(comparison),
        plots.plot_model_comparison(models, error="std", group="group"),
        plots.plot_attention({"before": att, "after": att[0]}),
        plots.plot_attention({"after": att}, per_head=False),
        plots.plot_alignment_profile({"x": (offsets, profile)}, uniform=1 / 6, band=1),
        plots.plot_correlation_heatmap(corr),
        plots.plot_study_flow(paper.study_flow()),
        plots.plot_fusion_taxonomy(paper.fusion_taxonomy(), paper.FUSION_FAMILIES),
        plots.plot_conceptual_framework(paper.CONCEPTUAL_FRAMEWORK),
        plots.plot_architecture(rows, inputs={"audio": (1, 1, 8, 8), "video": (1, 2, 3, 4, 4)}),
        plots.plot_log_mel({"x": rng.random((8, 16)), "y": rng.random((1, 8, 16))}),
        plots.plot_frame_strip({"x": rng.integers(0, 255, (5, 4, 4, 3), dtype=np.uint8)}),
        plots.plot_counts(manifest, class_order=["a", "b"]),
        plots.plot_protocol_comparison(protocols, chance=12.5),
        plots.plot_stage_times(pd.DataFrame({"stage": ["a", "b"], "seconds": [1.0, 3.0]})),
        plots.plot_tucker_scaling(tucker),
    ]
    for fig in figures:
        assert isinstance(fig, Figure)
        fig.savefig(io.BytesIO(), format="png", dpi=30)  # renders: layout and text work
    with pytest.raises(ValueError):
        plots.plot_confusion(cm, ["a"])


def test_pooled_and_top_confusions(tmp_path):
    import json

    from cmaf import plots

    names = ["a", "b"]
    for seed, cm in enumerate(([[3, 1], [0, 2]], [[2, 0], [2, 2]])):
        run = tmp_path / f"cmaf-seed{seed}"
        run.mkdir()
        test = {"class_names": names, "confusion_matrix": cm}
        (run / "metrics.json").write_text(json.dumps({"test": test}))
    cm, classes, n = plots.pooled_confusion([tmp_path / "cmaf-seed0", tmp_path / "cmaf-seed1",
                                             tmp_path / "missing"])  # fmt: skip
    assert n == 2 and classes == names
    assert cm.tolist() == [[5, 1], [2, 4]]
    top = plots.top_confusions(cm, classes, k=1)
    assert top.iloc[0][["true", "predicted", "clips"]].tolist() == ["b", "a", 2]
    assert plots.pooled_confusion([tmp_path / "missing"]) is None
