"""The dataset registry: one spec per dataset, and the code that reads dataset names from it."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from cmaf import paper
from cmaf.data import crema_d, iemocap, ravdess, registry
from cmaf.data.records import ClipRecord, DataError
from cmaf.data.spec import DatasetSpec
from cmaf.data.splits import held_out_folds
from cmaf.training import prepare

ROOT = Path(__file__).resolve().parents[1]


def test_each_loader_module_declares_the_spec_the_registry_lists():
    assert registry.SPECS == {m.SPEC.name: m.SPEC for m in (ravdess, crema_d, iemocap)}
    assert registry.DATASETS == ("ravdess", "crema-d", "iemocap") == prepare.DATASETS
    for name, spec in registry.SPECS.items():
        assert spec.name == name == inspect.getmodule(spec.scan).DATASET
        assert next(iter(inspect.signature(spec.scan).parameters)) == "root"
        assert spec.classes and len(set(spec.classes)) == len(spec.classes)
        assert registry.classes_for(name) == spec.classes
        for preset, classes in spec.presets.items():
            assert registry.classes_for(name, classes=preset) == classes
    with pytest.raises(DataError, match="valid names are ravdess, crema-d, iemocap"):
        registry.spec("msp-podcast")


def test_spec_rejects_an_ambiguous_fold_layout():
    with pytest.raises(ValueError, match="exactly one of n_folds and fold_size"):
        DatasetSpec("x", "X", ravdess.scan, ("a",), n_folds=5, fold_size=2)
    with pytest.raises(ValueError, match="one of the presets"):
        DatasetSpec("x", "X", ravdess.scan, ("a",), presets={"p": ("b",)})


def test_held_out_folds_follow_the_spec():
    """A dataset's default folds, protocol name and sex come from its spec alone."""
    records = [
        ClipRecord("crema-d", f"{a}_IEO_{e}_XX", e.lower(), f"crema-d-{a}", f"crema-d-{a}",
                   meta={"sex": "female" if a % 2 else "male"})
        for a in range(1001, 1021)
        for e in ("ANG", "SAD")
    ]  # fmt: skip
    folds = held_out_folds(records)
    assert len(folds) == crema_d.SPEC.n_folds
    assert {f.protocol for f in folds} == {"held-out-actors"}
    for fold in folds:  # 10 female and 10 male actors over 5 folds: two of each per fold
        sexes = sorted(int(g.rsplit("-", 1)[1]) % 2 for g in fold.test_groups)
        assert sexes == [0, 0, 1, 1]


def test_ravdess_sex_and_twin_key_without_meta():
    take = ClipRecord("ravdess", "01-01-05-02-01-01-03", "angry", "ravdess-03", "ravdess-03")
    twin = ClipRecord("ravdess", "02-01-05-02-01-02-03", "angry", "ravdess-03", "ravdess-03")
    assert ravdess.twin_key(take) == ravdess.twin_key(twin) == "01-05-02-01-03"
    assert ravdess.sex_of(take) == "M" and ravdess.sex_of(twin) == "M"
    female = ClipRecord("ravdess", "x", "calm", "ravdess-12", "ravdess-12")
    assert ravdess.sex_of(female) == "F"
    assert ravdess.sex_of(ClipRecord("ravdess", "x", "calm", "s", "s", meta={"sex": "M"})) == "M"


def test_paper_display_names_cover_every_registered_dataset():
    assert paper.DISPLAY_NAMES == {n: s.display_name for n, s in registry.SPECS.items()}
    assert set(paper.DATASETS) <= set(registry.DATASETS)
    # The paper's tables know only the datasets it reports on; the chapters must not ask for more.
    with pytest.raises(ValueError, match="unknown dataset"):
        paper.per_class_table("msp-podcast")


def _name(node: ast.AST) -> str:
    return node.id if isinstance(node, ast.Name) else ""


def _code_cells(chapter: Path) -> list[str]:
    cells = re.findall(r"```\{code-cell\}[^\n]*\n(.*?)\n```", chapter.read_text(), re.S)
    out = []
    for cell in cells:
        cell = re.sub(r"\A---\n.*?\n---\n", "", cell, flags=re.S)  # cell metadata
        out.append("\n".join(ln for ln in cell.splitlines() if not ln.startswith(("%", ":"))))
    return out


@pytest.mark.parametrize("name", ["04_results.md", "08_baselines.md"])
def test_chapters_compare_with_the_paper_only_for_datasets_it_reports(name):
    """Every lookup of TABLE_DATASET in ``cmaf.paper`` sits under ``if REPORTED:``.

    The book can be built on a registered dataset the paper has no tables for; the chapters then
    say so instead of raising KeyError / ValueError.
    """
    unguarded = []
    for cell in _code_cells(ROOT / "notebooks" / name):
        tree = ast.parse(cell)
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                target, args = node.func, node.args
            elif isinstance(node, ast.Subscript):
                target, args = node.value, [node.slice]
            else:
                continue
            in_paper = isinstance(target, ast.Attribute) and _name(target.value) == "paper"
            if not in_paper or not any(_name(a) == "TABLE_DATASET" for a in args):
                continue
            guarded, child, up = False, node, parents.get(node)
            while up is not None and not guarded:
                guarded = (
                    isinstance(up, ast.If) and _name(up.test) == "REPORTED" and child in up.body
                )
                child, up = up, parents.get(up)
            if not guarded:
                unguarded.append(ast.unparse(node))
    assert not unguarded, f"{name}: unguarded paper lookups {unguarded}"
