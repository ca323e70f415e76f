"""The book: chapter sources, the build (``cmaf book``) and the built HTML in a browser.

* Source checks (fast): chapters hold no outputs, declare the parameters contract and the
  outline headings, and match ``_toc.yml``.
* Build helpers (seconds): links, the error message of a failing cell, a throwaway book built
  with ``-W``.
* The smoke build (slow, a few minutes): ``build_book(profile="smoke")`` runs every chapter of
  ``notebooks/`` with papermill and builds the HTML with warnings as errors; headless Chromium
  then opens every page (skipped when ``/usr/bin/chromium`` is missing).

The chapter checks skip while ``notebooks/`` holds no chapter.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import browser_check

from cmaf.book import (
    CHAPTER_PARAMETERS,
    PARAMETERS,
    STAGES,
    BookError,
    build_book,
    chapter_sources,
    copy_book_sources,
    execute_chapters,
    toc_files,
)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
#: The real RAVDESS speech folder beside the checkout; the smoke build runs the real-data
#: chapter's experiment when it is there.
SPEECH_ROOT = ROOT.parent / "shared" / "data" / "ravdess-speech"
CHAPTERS = sorted(NOTEBOOKS.glob("*.md"))
OUTLINE = ("Overview", "Prerequisites", "Summary", "References")

needs_chapters = pytest.mark.skipif(
    not CHAPTERS, reason="notebooks/ holds no chapter yet (the chapters are written separately)"
)


def _jupytext():
    return pytest.importorskip("jupytext", reason="the book extra is not installed")


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _parameters_of(source: str) -> dict:
    values = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring-like comment string
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, (
            f"the parameters cell may only assign values, found: {ast.unparse(node)}"
        )
        values[ast.unparse(node.targets[0])] = ast.literal_eval(node.value)
    return values


# ----------------------------------------------------------------------------- sources


def test_no_executed_notebooks_in_sources():
    committed = [p.relative_to(ROOT) for p in NOTEBOOKS.rglob("*.ipynb")]
    assert not committed, f"notebooks/ must hold MyST sources only, found {committed}"


@needs_chapters
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_has_no_outputs(path):
    nb = _jupytext().read(path)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert not cell.get("outputs"), f"{path.name}: cell {index} carries outputs"
        assert cell.get("execution_count") is None, f"{path.name}: cell {index} has a count"


@needs_chapters
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_parameters_and_outline(path):
    nb = _jupytext().read(path)
    tagged = [c for c in nb.cells if "parameters" in _tags(c)]
    assert len(tagged) == 1, f"{path.name}: {len(tagged)} cells tagged 'parameters', need one"
    assert tagged[0].cell_type == "code"
    expected = {**PARAMETERS, **CHAPTER_PARAMETERS.get(f"notebooks/{path.stem}", {})}
    assert _parameters_of(tagged[0].source) == expected, (
        f"{path.name}: the parameters cell must assign exactly {expected}"
    )
    headings = {
        match.group(1).strip()
        for cell in nb.cells
        if cell.cell_type == "markdown"
        for match in re.finditer(r"^#{1,6}\s+(.+?)\s*$", cell.source, re.M)
    }
    missing = [name for name in OUTLINE if name not in headings]
    assert not missing, f"{path.name}: missing outline heading(s) {missing}"


@needs_chapters
def test_toc_lists_every_chapter():
    entries = toc_files(ROOT / "_toc.yml")
    listed = {e for e in entries if e.startswith("notebooks/")}
    present = {f"notebooks/{p.stem}" for p in CHAPTERS}
    assert present == listed, (
        f"not in _toc.yml: {sorted(present - listed)}; listed but missing: "
        f"{sorted(listed - present)}"
    )


def test_toc_and_static_pages():
    entries = toc_files(ROOT / "_toc.yml")
    assert entries[0] == "book/intro" and entries[-1] == "book/status"
    assert {"book/glossary", "book/how_built"} <= set(entries)
    for page in (e for e in entries if e.startswith("book/") and e != "book/status"):
        assert (ROOT / f"{page}.md").is_file(), f"_toc.yml lists {page}, which does not exist"
    assert not (ROOT / "book" / "status.md").exists(), "book/status.md is generated at build"


def test_config_builds_offline_without_executing():
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "off"
    extensions = config["sphinx"]["extra_extensions"]
    assert "sphinx-mathjax-offline" in extensions
    assert "sphinx_exercise" in extensions
    assert {"dollarmath", "amsmath"} <= set(config["parse"]["myst_enable_extensions"])


# ----------------------------------------------------------------------------- helpers


def test_build_book_rejects_bad_arguments(tmp_path):
    with pytest.raises(BookError, match="unknown dataset"):
        build_book(dataset="mnist", runs_root=tmp_path, out_dir=tmp_path)
    with pytest.raises(BookError, match="needs --data-root"):
        build_book(dataset="ravdess", runs_root=tmp_path, out_dir=tmp_path)
    with pytest.raises(BookError, match="unknown profile"):
        build_book(profile="gpu", runs_root=tmp_path, out_dir=tmp_path)


def test_missing_chapter_is_named(tmp_path):
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n  - file: notebooks/01_gone\n"
    )
    with pytest.raises(BookError, match="notebooks/01_gone"):
        chapter_sources(tmp_path)


CHAPTER_TEMPLATE = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# {title}

## Overview

A throwaway chapter; see {{doc}}`the other one <{other}>` and $a \\otimes v$.

## Prerequisites

None.

```{{code-cell}} ipython3
:tags: [parameters]

dataset = "synthetic"
data_root = ""
runs_root = "runs/book-smoke"
profile = "smoke"
seeds = [0]
```

```{{code-cell}} ipython3
---
mystnb:
  figure:
    caption: A figure of SYNTHETIC nothing.
    name: fig-{name}
---
import matplotlib.pyplot as plt

print(dataset, profile, seeds)
fig, ax = plt.subplots(figsize=(3, 2))
ax.plot([0, 1], [{body}, 1])
plt.show()
```

## Summary

See {{numref}}`fig-{name}`.

## References

None.
"""


def _throwaway_book(root: Path, body: str = "0") -> list[tuple[str, Path]]:
    (root / "notebooks").mkdir(parents=True)
    for name, other in (("01_one", "02_two"), ("02_two", "01_one")):
        text = CHAPTER_TEMPLATE.format(title=name, other=other, name=name, body=body)
        (root / "notebooks" / f"{name}.md").write_text(text)
    (root / "_config.yml").write_text((ROOT / "_config.yml").read_text())
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n  - caption: Chapters\n    chapters:\n"
        "      - file: notebooks/01_one\n      - file: notebooks/02_two\n"
        "  - caption: About\n    chapters:\n      - file: book/glossary\n"
        "      - file: book/how_built\n      - file: book/status\n"
    )
    (root / "book").mkdir()
    for page in ("intro", "glossary", "how_built"):
        (root / "book" / f"{page}.md").write_text((ROOT / "book" / f"{page}.md").read_text())
    return chapter_sources(root)


PARAMS = {"dataset": "synthetic", "data_root": "/d", "runs_root": "/r", "profile": "cpu"}


def test_failing_cell_names_notebook_and_cell(tmp_path):
    pytest.importorskip("papermill", reason="the book extra is not installed")
    chapters = _throwaway_book(tmp_path / "src", body="1 / 0")
    with pytest.raises(BookError) as info:
        execute_chapters(
            chapters,
            tmp_path / "out",
            tmp_path / "stage",
            {**PARAMS, "seeds": [0]},
            tmp_path,
            False,
        )
    message = str(info.value)
    assert "01_one.md" in message and "cell In [3]" in message and "ZeroDivisionError" in message
    assert "\n" not in message
    assert not list((tmp_path / "src" / "notebooks").glob("*.ipynb"))


def test_chapters_run_side_by_side_in_the_given_directory(tmp_path):
    """Two chapters at a time, each kernel in ``cwd`` (not the caller's directory), and the
    caller's working directory unchanged afterwards."""
    pytest.importorskip("papermill", reason="the book extra is not installed")
    src = tmp_path / "src"
    chapters = _throwaway_book(src, body='len(open("marker.txt").read())')
    (src / "marker.txt").write_text("here")
    before = Path.cwd()
    executed = execute_chapters(
        chapters, tmp_path / "out", tmp_path / "stage", {**PARAMS, "seeds": [0]}, src, False, 2
    )
    assert [p.name for p in executed] == ["01_one.ipynb", "02_two.ipynb"]
    assert Path.cwd() == before


@pytest.mark.slow
def test_throwaway_book_builds_with_warnings_as_errors(tmp_path):
    """Execute two throwaway chapters and build their book with -W, as cmaf book does."""
    pytest.importorskip("papermill", reason="the book extra is not installed")
    from cmaf.book import build_html, write_status_page

    src, out = tmp_path / "src", tmp_path / "out"
    chapters = _throwaway_book(src)
    executed = execute_chapters(
        chapters, out, tmp_path / "stage", {**PARAMS, "seeds": [1, 2]}, src, False
    )
    nb = json.loads(executed[0].read_text())
    assert nb["metadata"]["papermill"]["parameters"]["seeds"] == [1, 2]
    removed = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert "remove-cell" in removed[0]["metadata"]["tags"]
    write_status_page(
        out / "book" / "status.md",
        dataset="synthetic",
        data_root="",
        profile="smoke",
        seeds=[1, 2],
        runs_root=tmp_path / "runs",
        executed=executed,
        run_dirs=[],
        stage_seconds={"corpus": 1.0},
    )
    copy_book_sources(src, out)
    index = build_html(out, progress=False)
    html_dir = index.parent
    assert (html_dir / "notebooks" / "01_one.html").is_file()
    # The {doc} link between chapters resolves to the executed chapter's page.
    assert 'href="02_two.html"' in (html_dir / "notebooks" / "01_one.html").read_text()
    assert (html_dir / "_static" / "mathjax" / "tex-chtml.js").is_file()
    assert browser_check.check_links(html_dir) == []
    status = (html_dir / "book" / "status.html").read_text()
    assert "synthetic" in status and "papermill" in status


# ----------------------------------------------------------------------------- smoke build


def _image_outputs(notebook: Path) -> int:
    """Image outputs a chapter shows (cells not removed from the page)."""
    nb = json.loads(notebook.read_text())
    count = 0
    for cell in nb["cells"]:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell["cell_type"] != "code" or tags & {"remove-cell", "remove-output"}:
            continue
        for output in cell.get("outputs", []):
            if any(mime.startswith("image/") for mime in output.get("data", {})):
                count += 1
    return count


@pytest.fixture(scope="module")
def smoke_book(tmp_path_factory):
    if not CHAPTERS:
        pytest.skip("notebooks/ holds no chapter yet (the chapters are written separately)")
    pytest.importorskip("papermill", reason="the book extra is not installed")
    tmp = tmp_path_factory.mktemp("book")

    def others():  # anything but the MyST sources (an executed copy, a checkpoint folder)
        return sorted(p.name for p in NOTEBOOKS.iterdir() if p.suffix != ".md")

    before = others()
    speech_root = SPEECH_ROOT if SPEECH_ROOT.is_dir() else None
    index = build_book(
        profile="smoke",
        runs_root=tmp / "runs",
        out_dir=tmp / "out",
        progress=False,
        speech_root=speech_root,
    )
    assert others() == before, "the build wrote into notebooks/"
    return {
        "index": index,
        "runs": tmp / "runs",
        "src": tmp / "out" / "book-src",
        "speech_root": speech_root,
    }


@pytest.mark.slow
def test_smoke_build(smoke_book):
    index, runs, src = smoke_book["index"], smoke_book["runs"], smoke_book["src"]
    assert index == src / "_build" / "html" / "index.html" and index.is_file()
    stages = json.loads((runs / "stages.json").read_text())
    assert list(stages) == [s for s in STAGES if s != "speech" or smoke_book["speech_root"]]
    for model in ("cmaf", "audio", "video"):
        assert (runs / "train" / f"{model}-seed0" / "metrics.json").is_file()
    # The compare stage: every model of the smoke plan under both protocols, and the sweep.
    from cmaf.experiments.compare import PLANS, load_results
    from cmaf.experiments.robustness import load_curves

    plan = PLANS["smoke"]
    results = load_results(runs / "compare" / "results.csv")
    assert {(r["fusion"], r["protocol"]) for r in results} == {
        (f, p) for f in plan.models for p in ("random", "held-out")
    }
    assert not (runs / "compare" / "cmaf" / "random-seed0").exists()  # the train run, reused
    assert {r["model"] for r in load_curves(runs / "compare" / "robustness.csv")} == set(
        plan.models
    )
    chapter = src / "notebooks" / "08_baselines.ipynb"
    text = chapter.read_text()
    assert "Every model under one protocol" in text and "Sanity check" in text
    assert _image_outputs(chapter) >= 4
    html_dir = index.parent
    for path in CHAPTERS:
        executed = src / "notebooks" / f"{path.stem}.ipynb"
        meta = json.loads(executed.read_text())["metadata"]["papermill"]
        assert meta["parameters"]["profile"] == "smoke"
        assert (html_dir / "notebooks" / f"{path.stem}.html").is_file()
    for page in html_dir.rglob("*.html"):
        text = page.read_text(errors="replace")
        assert not re.search(r"https?://[^\"']*mathjax", text, re.I), f"{page}: CDN MathJax"
    assert "smoke" in (html_dir / "book" / "status.html").read_text()


@pytest.mark.slow
def test_smoke_build_real_speech_chapter(smoke_book):
    """The real-data chapter shows results when the speech folder is there, else says why."""
    executed = json.loads((smoke_book["src"] / "notebooks" / "10_real_speech.ipynb").read_text())
    text = "\n".join(
        "".join(out.get("text", ""))
        + "".join(out.get("data", {}).get("text/html", ""))
        + "".join(out.get("data", {}).get("text/markdown", ""))
        for cell in executed["cells"]
        for out in cell.get("outputs", [])
    )
    if smoke_book["speech_root"] is None:
        assert "No RAVDESS speech runs" in text and "zenodo.1188976" in text
        return
    summary = json.loads((smoke_book["runs"] / "speech" / "summary.json").read_text())
    assert summary["plan"] == "smoke"
    for name in summary["runs"]["network"] + summary["runs"]["pooled"]:
        assert (smoke_book["runs"] / "speech" / name / "metrics.json").is_file()
    assert "held-out actors" in text and "random 80:20 (paper)" in text
    assert "Bhangale" in text  # the published anchors table
    assert _image_outputs(smoke_book["src"] / "notebooks" / "10_real_speech.ipynb") >= 4


@pytest.mark.slow
def test_noise_level_benchmark_sweeps_both_mixtures_without_touching_runs(smoke_book, capsys):
    import importlib.util

    path = ROOT / "benchmarks" / "noise_level.py"
    spec = importlib.util.spec_from_file_location("_bench_noise_level", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run = smoke_book["runs"] / "train" / "audio-seed0"
    before = {p.name: p.stat().st_mtime_ns for p in run.iterdir()}
    module.main(["--runs-root", str(smoke_book["runs"]), "--seeds", "0", "--no-save"])
    out = capsys.readouterr().out
    for mixture in module.MIXTURES:
        assert f"{mixture} (1 runs of audio" in out
    for kind in ("white-noise", "speech-noise"):
        assert out.count(f"{kind}: largest rise") == 2 and out.count(f"{kind}: predicted") == 2
    assert {p.name: p.stat().st_mtime_ns for p in run.iterdir()} == before


@pytest.mark.slow
def test_chapters_run_standalone_as_ravdess(smoke_book, tmp_path):
    """The chapters that hand ``dataset`` on run with ``-p dataset ravdess -p data_root ...``.

    The smoke build's corpus is in RAVDESS's layout, so pointing ``data_root`` at it and
    ``runs_root`` at the build's runs is what a user with RAVDESS runs does by hand: every
    ``dataset == "synthetic"`` branch takes its other side. The other chapters do not read
    ``dataset`` and ran in the smoke build already.
    """
    pytest.importorskip("papermill", reason="the book extra is not installed")
    chapters = [
        (entry, source)
        for entry, source in chapter_sources(ROOT)
        if "dataset=dataset" in source.read_text()
    ]
    assert len(chapters) >= 8, [entry for entry, _ in chapters]
    runs = smoke_book["runs"]
    parameters = {
        "dataset": "ravdess",
        "data_root": str(runs / "corpus"),
        "runs_root": str(runs),
        "profile": "smoke",
        "seeds": [0],
    }
    executed = execute_chapters(
        chapters, tmp_path / "out", tmp_path / "stage", parameters, ROOT, False
    )
    for path in executed:
        injected = json.loads(path.read_text())["metadata"]["papermill"]["parameters"]
        assert injected["dataset"] == "ravdess", path


@pytest.mark.slow
def test_smoke_build_internal_links(smoke_book):
    assert browser_check.check_links(smoke_book["index"].parent) == []


@pytest.mark.slow
@pytest.mark.skipif(
    not browser_check.chromium_available(), reason="chromium is not installed (.ci/run adds it)"
)
def test_smoke_build_in_browser(smoke_book):
    html_dir = smoke_book["index"].parent
    reports = browser_check.browser_report(html_dir)
    assert reports, "no page was opened"
    failures = browser_check.page_failures(reports)
    for path in CHAPTERS:
        page = f"notebooks/{path.stem}.html"
        expected = _image_outputs(smoke_book["src"] / "notebooks" / f"{path.stem}.ipynb")
        shown = len(reports.get(page, {}).get("images", []))
        if shown < expected:
            failures.append(f"{page}: {shown} images for {expected} figure outputs")
    assert not failures, "\n".join(failures)


def test_cli_lists_book_command():
    out = subprocess.run(
        [sys.executable, "-m", "cmaf", "book", "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0 and "--profile" in out.stdout


def test_parameters_show_paths_relative_to_the_sources(tmp_path):
    from cmaf.book import _shown_path

    assert _shown_path(tmp_path / "runs" / "book-cpu-synthetic", tmp_path) == (
        "runs/book-cpu-synthetic"
    )
    assert _shown_path(Path("/elsewhere/data"), tmp_path) == str(Path("/elsewhere/data"))


def test_compare_stage_reuses_every_seed_of_the_train_stage(tmp_path, monkeypatch):
    # The comparison reuses a train-stage run only when the configs are equal; a mismatch
    # (each seed's own split in one, seed 0's in the other) once retrained every seed but 0.
    from cmaf import book as book_module
    from cmaf.experiments import compare
    from cmaf.layout import BookRuns

    runs = BookRuns(tmp_path / "runs")
    for seed in (0, 1, 2):
        for model in book_module.MODELS:
            run_dir = runs.run(model, seed)
            run_dir.mkdir(parents=True)
            config = book_module.train_config("cpu", "synthetic", 8, model, seed)
            (run_dir / "config.json").write_text(config.to_json())
            (run_dir / "metrics.json").write_text("{}")

    def no_training(config, cache_dir, run_dir, **_):
        raise AssertionError(f"compare trained {run_dir} again")

    summary = {"mean_std": {key: (0.5, 0.0) for key in ("accuracy", "macro_f1", "ua")}}
    monkeypatch.setattr(compare, "ensure_run", no_training)
    monkeypatch.setattr(compare, "aggregate_runs", lambda dirs: summary)
    monkeypatch.setattr(compare, "model_cost", lambda config: (1, 1.0, 0.0))
    swept = {}
    monkeypatch.setattr(compare, "run_robustness", lambda runs, *a, **k: swept.update(runs))
    book_module.compare_runs("synthetic", "cpu", (0, 1, 2), tmp_path, runs, 8, False)
    assert {f: len(dirs) for f, dirs in swept.items()} == {"cmaf": 3, "audio": 3, "video": 3}
    assert all(runs.train_root in d.parents for dirs in swept.values() for d in dirs)
