"""``cmaf book``: build the Jupyter Book from data to HTML in one command.

The stages, in the order of :data:`STAGES`, each timed into ``RUNS_ROOT/stages.json`` as it
ends: the synthetic corpus (``cmaf synth``), the prepared cache, one training run per seed and
model, every fusion trained on each seed's frozen unimodal encoders
(:mod:`cmaf.experiments.frozen`), the profile's comparison and robustness sweep (``cmaf
compare``), the real-speech study when a RAVDESS speech folder is given (``cmaf speech``), the
chapters executed by papermill, the status page, and ``jupyter-book build`` with warnings as
errors. Each stage reuses what an earlier build finished. The book's page "How this book is
built" draws the whole path; the folders are those of :class:`cmaf.layout.BookRuns`.

The parameters contract: each chapter has one cell tagged ``parameters`` holding exactly
:data:`PARAMETERS` (the defaults) plus its entry in :data:`CHAPTER_PARAMETERS`; ``cmaf book``
overrides all of them.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import chdir, contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from cmaf.arguments import UsageError, int_list, output_dir
from cmaf.data import registry
from cmaf.data.cache import prepare
from cmaf.data.records import DataError
from cmaf.data.synth import SynthError, synthesize
from cmaf.experiments import BOOK_PLANS, compare, frozen, speech
from cmaf.experiments.protocols import ProtocolRun, ensure_runs
from cmaf.layout import BookRuns
from cmaf.training.checkpoint import atomic_write_text
from cmaf.training.config import ExperimentConfig, load_config
from cmaf.training.loop import git_commit

#: Accepted ``--dataset`` values: "synthetic" (generated, read as RAVDESS) and every registered
#: dataset.
DATASETS = ("synthetic", *registry.DATASETS)
#: Accepted ``--profile`` values (see :mod:`cmaf.training.config`).
PROFILES = ("cpu", "paper", "smoke")
#: The models trained for every seed, in training order.
MODELS = ("cmaf", "audio", "video")
#: Synthetic actors (60 clips each) generated for each profile. The cpu profile's 10 actors
#: with its 75:25 split give 150 test clips per seed (see ``data.test_fraction``).
SYNTH_ACTORS = {"smoke": 2, "cpu": 10, "paper": 24}
#: Seeds trained when none are given: three, so that the chapters' intervals pool over seeds;
#: one for the smoke build.
DEFAULT_SEEDS = {"smoke": (0,), "cpu": (0, 1, 2), "paper": (0, 1, 2)}
#: The parameters cell every chapter declares, with its defaults (the contract; keep exact).
PARAMETERS: dict[str, Any] = {
    "dataset": "synthetic",
    "data_root": "",
    "runs_root": "runs/book-smoke",
    "profile": "smoke",
    "seeds": [0],
}
#: Parameters only some chapters declare, after :data:`PARAMETERS` (entry -> name -> default).
CHAPTER_PARAMETERS: dict[str, dict[str, Any]] = {
    "notebooks/10_real_speech": {"speech_root": ""},
}
#: The order of the stages in ``stages.json``.
STAGES = (
    "corpus",
    "prepare",
    "train",
    "fusions",
    "compare",
    "speech",
    "notebooks",
    "status",
    "html",
)
#: Chapters executed at a time (each in its own kernel; the CPUs are shared out between them).
CHAPTER_WORKERS = 2
#: Name of the private Jupyter kernel that runs the chapters with this interpreter.
KERNEL_NAME = "cmaf-book-python3"
#: Packages whose versions the status page lists.
STATUS_PACKAGES = (
    "cmaf torch torchvision torchaudio numpy scikit-learn matplotlib seaborn av jupyter-book "
    "sphinx myst-nb papermill jupytext ipykernel"
).split()


class BookError(RuntimeError):
    """A build step failed; the message is one line naming what failed and where."""


def source_root() -> Path:
    """The folder holding ``_config.yml``, ``_toc.yml``, ``book/`` and ``notebooks/``: the
    checkout ``cmaf`` is installed from in editable mode, else the current directory."""
    checkout = Path(__file__).resolve().parents[1]
    return checkout if (checkout / "_toc.yml").is_file() else Path.cwd()


def _log(progress: bool, message: str) -> None:
    if progress:
        print(f"cmaf book: {message}", file=sys.stderr, flush=True)


def toc_files(toc_path: str | Path) -> list[str]:
    """Every document of a Jupyter Book 1 ``_toc.yml`` in reading order (root first), relative
    to the book root and without suffix (e.g. ``notebooks/01_literature``)."""
    import yaml

    data = yaml.safe_load(Path(toc_path).read_text()) or {}
    found = [str(data["root"])] if "root" in data else []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            if "file" in node:
                found.append(str(node["file"]))
            for key in ("parts", "chapters", "sections"):
                if key in node:
                    walk(node[key])

    walk(data)
    return [
        str(Path(f).with_suffix("")) if Path(f).suffix in (".md", ".ipynb") else f for f in found
    ]


def chapter_sources(root: Path, toc_path: Path | None = None) -> list[tuple[str, Path]]:
    """``(entry, source)`` of every ``notebooks/`` chapter of the table of contents (default
    ``root/_toc.yml``), in reading order; a chapter without a ``.md`` or ``.ipynb`` source
    raises :class:`BookError`."""
    toc_path = toc_path or root / "_toc.yml"
    pairs = []
    for entry in toc_files(toc_path):
        if not entry.startswith("notebooks/"):
            continue
        sources = [root / f"{entry}{suffix}" for suffix in (".md", ".ipynb")]
        found = [path for path in sources if path.is_file()]
        if not found:
            raise BookError(f"{toc_path.name} lists {entry}, but {entry}.md does not exist")
        pairs.append((entry, found[0]))
    return pairs


def _shown_path(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` when inside it (POSIX form), else absolute."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())


def _first_line(text: str, limit: int = 80) -> str:
    line = next((part.strip() for part in str(text).splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


# ----------------------------------------------------------------------------- stages


def make_corpus(corpus_dir: Path, actors: int, progress: bool) -> Path:
    """Stage ``corpus``: ``actors`` synthetic actors into ``corpus_dir`` (reused when complete)."""
    try:
        summary = synthesize(corpus_dir, actors=actors, workers=2, progress=progress)
    except SynthError as exc:
        raise BookError(f"corpus: {exc}") from exc
    _log(
        progress,
        f"corpus {corpus_dir}: " + ("reused" if summary.reused else f"wrote {summary.clips} clips"),
    )
    return corpus_dir


def prepare_cache(
    dataset: str, data_root: Path, cache_root: Path, profile: str, progress: bool
) -> tuple[Path, tuple[str, ...]]:
    """Stage ``prepare``: cache the dataset (``synthetic`` read as RAVDESS) with the profile's
    preprocessing; returns the cache directory and the class names in label order."""
    cfg = load_config(profile).preprocess
    name = "ravdess" if dataset == "synthetic" else dataset
    options = {"modality": "audio" if cfg.modality == "audio" else "av"}
    try:
        scan = registry.scan_dataset(name, data_root, **options)
        classes = tuple(registry.classes_for(name, **options))
        if not scan.records:
            raise BookError(f"prepare: no usable clips found under {data_root}")
        result = prepare(
            scan.records,
            cache_root,
            cfg,
            workers=2,
            progress=progress,
            classes=classes,
            scan_problems=scan.problems,
        )
    except DataError as exc:
        raise BookError(f"prepare: {exc}") from exc
    if result.n_usable == 0:
        raise BookError(f"prepare: nothing usable was prepared from {data_root}")
    _log(
        progress,
        f"cache {result.cache_dir}: {result.n_usable} clips "
        f"({result.n_processed} written, {result.n_cached} already cached)",
    )
    return Path(result.cache_dir), classes


def _book_config(profile: str, dataset: str, num_classes: int) -> ExperimentConfig:
    """The profile's config for the book's dataset and class count (train and compare stages)."""
    config = load_config(profile)
    config.model.num_classes = num_classes
    if dataset != "synthetic":
        config.data.dataset = dataset
    return config


def train_config(
    profile: str, dataset: str, num_classes: int, model: str, seed: int
) -> ExperimentConfig:
    """The config of the ``train`` stage's run of ``model`` and ``seed``: the comparison's
    random-split run (:func:`cmaf.experiments.compare.run_config`)."""
    base = _book_config(profile, dataset, num_classes)
    return compare.run_config(base, model, ProtocolRun("random", 0, int(seed)))


def train_runs(
    dataset: str,
    profile: str,
    seeds: Sequence[int],
    cache_dir: Path,
    runs: BookRuns,
    num_classes: int,
    progress: bool,
) -> list[Path]:
    """Stage ``train``: every (seed, model) run into ``RUNS_ROOT/train/<model>-seed<S>``,
    reusing finished runs and resuming others, two at a time on the CPU
    (:func:`cmaf.experiments.protocols.ensure_runs`); returns them seed by seed in
    :data:`MODELS` order."""
    jobs = []
    for seed in seeds:
        for model in MODELS:
            run_dir = runs.run(model, seed)
            # The comparison's random-split run of this seed (its own split), so the compare
            # stage reuses it rather than training it again.
            config = train_config(profile, dataset, num_classes, model, seed)
            try:
                config.validate()
            except ValueError as exc:
                raise BookError(f"train {run_dir.name}: {exc}") from exc
            jobs.append((config, run_dir))
    try:
        return ensure_runs(
            jobs,
            cache_dir,
            parallel=2,
            progress=progress,
            log=lambda message: _log(progress, f"train {message}"),
        )
    except (ValueError, FileNotFoundError, FileExistsError, RuntimeError) as exc:
        raise BookError(f"train: {exc}") from exc


def compare_runs(
    dataset: str,
    profile: str,
    seeds: Sequence[int],
    cache_dir: Path,
    runs: BookRuns,
    num_classes: int,
    progress: bool,
) -> Path:
    """Stage ``compare``: the profile's comparison plan (:data:`cmaf.experiments.BOOK_PLANS`)
    into ``RUNS_ROOT/compare``, the ``train`` stage's runs standing in for its random-split runs
    where their configs match; returns the path of ``results.csv``."""
    reuse = {
        (model, f"random-seed{seed}"): runs.run(model, seed) for seed in seeds for model in MODELS
    }
    try:
        return compare.run_plan(
            compare.PLANS[BOOK_PLANS[profile][0]],
            _book_config(profile, dataset, num_classes),
            cache_dir,
            runs.compare,
            seeds=seeds,
            reuse=reuse,
            progress=progress,
            log=lambda message: _log(progress, f"compare {message}"),
        )
    except (ValueError, FileNotFoundError, FileExistsError, RuntimeError) as exc:
        raise BookError(f"compare: {exc}") from exc


@contextmanager
def _kernel(work_dir: Path, threads: int | None = None) -> Iterator[str]:
    """A private kernelspec running this interpreter, found through ``JUPYTER_PATH``; with
    ``threads``, its kernels use that many OpenMP threads (set when chapters run in parallel)."""
    kernel_dir = work_dir / "jupyter" / "kernels" / KERNEL_NAME
    kernel_dir.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "--log-level=CRITICAL"]
    spec = {
        "argv": [*argv, "-f", "{connection_file}"],
        "display_name": "Python 3 (cmaf book)",
        "language": "python",
        **({"env": {"OMP_NUM_THREADS": str(threads)}} if threads else {}),
    }
    (kernel_dir / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n")
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        [str(work_dir / "jupyter"), *([old] if old else [])]
    )
    try:
        yield KERNEL_NAME
    finally:
        if old is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = old


def _execute_chapter(
    staged: str, output: str, parameters: dict[str, Any], kernel_name: str, name: str
) -> str | None:
    """Execute one staged chapter into ``output`` with a kernel started in the current working
    directory (a thread of :func:`execute_chapters`); returns the one-line failure, or ``None``.
    """
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(
            staged,
            output,
            parameters=parameters,
            kernel_name=kernel_name,
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=False,
        )
    except PapermillExecutionError as exc:
        return (
            f"notebook {name}: cell In [{exc.exec_count}] ({_first_line(exc.source)!r}) raised "
            f"{exc.ename}: {_first_line(exc.evalue, 200)} (executed copy with the traceback: "
            f"{output})"
        )
    except Exception as exc:  # kernel died, bad parameters cell, ...
        return f"notebook {name}: {type(exc).__name__}: {exc}"
    # The default parameters cell is hidden; the injected one after it shows the values.
    nb = nbformat.read(output, as_version=4)
    tags = [cell.get("metadata", {}).get("tags", []) for cell in nb.cells]
    injected = any("injected-parameters" in t for t in tags)
    for cell, cell_tags in zip(nb.cells, tags, strict=True):
        if injected and "parameters" in cell_tags and "remove-cell" not in cell_tags:
            cell.metadata["tags"] = [*cell_tags, "remove-cell"]
    nbformat.write(nb, output)
    return None


def execute_chapters(
    chapters: Sequence[tuple[str, Path]],
    book_src: Path,
    staging: Path,
    parameters: dict[str, Any],
    cwd: Path,
    progress: bool,
    workers: int = CHAPTER_WORKERS,
) -> list[Path]:
    """Stage ``notebooks``: jupytext -> ipynb -> papermill, ``workers`` chapters at a time.

    Each ``(entry, source)`` of ``chapters`` (:func:`chapter_sources`) is converted in
    ``staging`` and executed into ``book_src/<entry>.ipynb`` by a private kernel working in
    ``cwd``, with ``parameters``: :data:`PARAMETERS`, and :data:`CHAPTER_PARAMETERS` for the
    chapters that declare them. Chapters only read the runs, so they can run side by side; the
    CPUs are shared out between the kernels. Returns the executed notebooks in order; a cell
    that raises gives a :class:`BookError` naming the notebook, the cell and the exception (the
    first failing chapter in order; chapters not yet started are cancelled).
    """
    import jupytext
    import nbformat

    jobs = []
    for entry, source in chapters:
        nb = jupytext.read(source)
        nb.metadata.pop("jupytext", None)
        nb.metadata["kernelspec"] = {
            "name": KERNEL_NAME,
            "display_name": "Python 3 (cmaf book)",
            "language": "python",
        }
        staged = staging / f"{entry}.ipynb"
        staged.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, staged)
        output = book_src / f"{entry}.ipynb"
        output.parent.mkdir(parents=True, exist_ok=True)
        own = {
            name: parameters.get(name, default)
            for name, default in CHAPTER_PARAMETERS.get(entry, {}).items()
        }
        values = {**{k: parameters[k] for k in PARAMETERS}, **own}
        jobs.append((source, staged, output, values))
    workers = max(1, min(workers, len(jobs)))
    threads = max(1, (os.cpu_count() or 1) // workers) if workers > 1 else None
    # The kernels start in ``cwd``: set once for all threads, since papermill's own ``cwd``
    # changes the working directory of the whole process for the time of each call.
    with (
        _kernel(staging, threads) as kernel_name,
        chdir(cwd),
        ThreadPoolExecutor(workers) as pool,
    ):
        futures = [
            pool.submit(
                _execute_chapter, str(staged), str(output), values, kernel_name, source.name
            )
            for source, staged, output, values in jobs
        ]
        for (source, *_), future in zip(jobs, futures, strict=True):
            error = future.result()
            if error:
                pool.shutdown(cancel_futures=True)
                raise BookError(error)
            shown = source.relative_to(cwd) if source.is_relative_to(cwd) else source
            _log(progress, f"executed {shown}")
    return [output for _, _, output, _ in jobs]


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _notebook_seconds(path: Path) -> str:
    try:
        duration = json.loads(path.read_text())["metadata"].get("papermill", {}).get("duration")
    except (OSError, ValueError, KeyError):
        duration = None
    return f"{float(duration):.1f}" if duration is not None else "–"


def _run_row(run_dir: Path) -> list[str]:
    try:
        run = json.loads((run_dir / "run.json").read_text())
        scalars = json.loads((run_dir / "metrics.json").read_text())["scalars"]
    except (OSError, ValueError, KeyError):
        return [f"`{run_dir.name}`", "–", "–", "–", "–"]
    values = [scalars.get(key, float("nan")) for key in ("accuracy", "macro_f1", "ua")]
    seconds = float(run.get("wall_seconds", float("nan")))
    return [f"`{run_dir.name}`", f"{seconds:.1f}", *(f"{value:.4f}" for value in values)]


def _table(header: str, rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table: ``header`` like ``"name | seconds:"`` (``:`` right-aligns a column)."""
    names = [name.strip() for name in header.split("|")]
    lines = ["| " + " | ".join(name.rstrip(":") for name in names) + " |"]
    lines.append("| " + " | ".join("---:" if n.endswith(":") else "---" for n in names) + " |")
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def write_status_page(
    path: Path,
    *,
    dataset: str,
    data_root: str,
    profile: str,
    seeds: Sequence[int],
    runs_root: Path,
    executed: Sequence[Path],
    run_dirs: Sequence[Path],
    stage_seconds: dict[str, float],
) -> Path:
    """Stage ``status``: write the generated ``book/status.md`` page of the build parameters,
    package versions, and the seconds of each chapter (papermill), run and stage so far."""
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Build status",
        "",
        "This page is generated by `cmaf book` each time the book is built; it records what "
        "this copy of the book was built from.",
        "",
    ]
    if dataset == "synthetic":
        lines += [
            ":::{important}",
            "This build uses the **synthetic** corpus embedded in `cmaf` (`cmaf synth`), not the "
            "paper's datasets. Every number and figure in it describes synthetic data; see the "
            "introduction for how to rebuild the book on RAVDESS, CREMA-D or IEMOCAP.",
            ":::",
            "",
        ]
    parameters = [
        ("dataset", f"`{dataset}`"),
        ("data_root", f"`{data_root or '(generated corpus)'}`"),
        ("profile", f"`{profile}`"),
        ("seeds", f"`{', '.join(str(s) for s in seeds)}`"),
        ("runs_root", f"`{runs_root}`"),
        ("built", now),
        ("git commit", f"`{git_commit()}`"),
        ("python", f"{platform.python_version()} ({platform.machine()})"),
        ("platform", platform.platform()),
    ]
    lines += ["## Parameters", "", *_table("parameter | value", parameters), ""]
    versions = [(name, _version(name)) for name in STATUS_PACKAGES]
    lines += ["## Package versions", "", *_table("package | version", versions), ""]
    lines += ["## Chapters", "", "Execution time of each chapter (papermill), in seconds.", ""]
    chapters = [(f"`{nb.name}`", _notebook_seconds(nb)) for nb in executed]
    lines += [*_table("notebook | seconds:", chapters), ""]
    lines += [
        "## Training runs",
        "",
        "Test-split results of each run (one seed each; the chapters aggregate them). "
        "Seconds are the run's own wall time, also when this build reused it.",
        "",
        *_table("run | seconds: | accuracy: | macro-F1: | UA:", map(_run_row, run_dirs)),
        "",
        "## Stages",
        "",
        "Seconds per stage of this build (also in `stages.json` under the runs root; stages "
        "that reused earlier work take little time). The HTML stage runs after this page is "
        "written, so its time is only in `stages.json`.",
        "",
    ]
    stages = [(name, f"{stage_seconds[name]:.1f}") for name in STAGES if name in stage_seconds]
    lines += [*_table("stage | seconds:", stages), ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return path


def copy_book_sources(root: Path, book_src: Path) -> None:
    """Copy the book configuration, references and static pages next to the executed notebooks
    (pages link chapters with ``{doc}`` roles, which resolve whatever the chapter's suffix)."""
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text()) or {}
    if (root / "references.bib").is_file():
        shutil.copy2(root / "references.bib", book_src / "references.bib")
        config["bibtex_bibfiles"] = ["references.bib"]
    (book_src / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    shutil.copy2(root / "_toc.yml", book_src / "_toc.yml")
    pages = root / "book"
    for item in pages.iterdir() if pages.is_dir() else ():
        if item.name.startswith((".", "_")) or item.name == "status.md":
            continue
        target = book_src / "book" / item.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if item.is_dir():
            shutil.copytree(item, target, dirs_exist_ok=True)
        else:
            shutil.copy2(item, target)


def build_html(book_src: Path, progress: bool) -> Path:
    """Stage ``html``: ``jupyter-book build --all -W -n --keep-going``; returns ``index.html``.
    A failed or warning build raises :class:`BookError` quoting the first warnings."""
    script = Path(sys.executable).parent / "jupyter-book"
    found = str(script) if script.is_file() else shutil.which("jupyter-book")
    if not found:
        raise BookError("html: jupyter-book is not installed (pip install -e '.[book]')")
    command = [found, "build", str(book_src), "--all", "-W", "-n", "--keep-going"]
    env = dict(os.environ, PYDEVD_DISABLE_FILE_VALIDATION="1")
    proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    log_path = book_src / "jupyter-book-build.log"
    log_path.write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
    index = book_src / "_build" / "html" / "index.html"
    if proc.returncode != 0 or not index.is_file():
        text = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
        warnings = [line for line in text.splitlines() if "WARNING" in line or "ERROR" in line]
        detail = "; ".join(warnings[:5]) or _first_line(proc.stderr[-2000:], 300)
        raise BookError(
            f"html: jupyter-book build failed (exit {proc.returncode}): {detail} "
            f"(full log: {log_path})"
        )
    _log(progress, f"html built: {index}")
    return index


# ----------------------------------------------------------------------------- entry points


def build_book(
    dataset: str = "synthetic",
    data_root: str | Path | None = None,
    profile: str = "cpu",
    seeds: Sequence[int] | None = None,
    runs_root: str | Path | None = None,
    out_dir: str | Path = "_build",
    actors: int | None = None,
    progress: bool = True,
    source_dir: str | Path | None = None,
    speech_root: str | Path | None = None,
) -> Path:
    """Build the book: data, training runs, executed chapters, status page, HTML.

    Parameters
    ----------
    dataset, data_root
        ``synthetic`` (``actors`` of them, default :data:`SYNTH_ACTORS`, generated into
        ``RUNS_ROOT/corpus``) or a registered dataset read from ``data_root``.
    seeds
        Training seeds (default :data:`DEFAULT_SEEDS` of the profile).
    runs_root
        Corpus, cache and runs (default ``runs/book-<profile>-<dataset>``); finished work there
        is reused by the next build.
    out_dir
        Build folder: the book sources go to ``OUT/book-src``, the HTML to its ``_build/html``.
    source_dir
        ``_config.yml``, ``_toc.yml``, ``book/`` and ``notebooks/`` (default
        :func:`source_root`; tests point it at a throwaway book).
    speech_root
        RAVDESS's audio-only speech folder: adds the ``speech`` stage for the real-data chapter.

    Returns
    -------
    Path
        ``OUT/book-src/_build/html/index.html``; bad arguments or a failed stage raise a
        one-line :class:`BookError`.
    """
    if dataset not in DATASETS:
        raise BookError(f"unknown dataset {dataset!r}: use one of {', '.join(DATASETS)}")
    if profile not in PROFILES:
        raise BookError(f"unknown profile {profile!r}: use one of {', '.join(PROFILES)}")
    seeds = tuple(int(s) for s in (DEFAULT_SEEDS[profile] if seeds is None else seeds))
    if not seeds:
        raise BookError("at least one seed is needed")
    root = Path(source_dir).resolve() if source_dir else source_root()
    for needed in ("_config.yml", "_toc.yml"):
        if not (root / needed).is_file():
            raise BookError(f"{root}: no {needed} (run from the repository or pass source_dir)")
    runs = BookRuns(runs_root or Path("runs") / f"book-{profile}-{dataset}")
    out_dir = Path(out_dir).resolve()
    if dataset != "synthetic":
        if not data_root:
            raise BookError(f"dataset {dataset} needs --data-root (the dataset folder)")
        data_root = Path(data_root).resolve()
        if not data_root.is_dir():
            raise BookError(f"{data_root}: dataset root is not a folder")
    if speech_root:
        speech_root = Path(speech_root).resolve()
        if not speech_root.is_dir():
            raise BookError(f"{speech_root}: speech root is not a folder")
    chapters = chapter_sources(root)  # fail early on a missing chapter
    seconds: dict[str, float] = {}

    @contextmanager
    def stage(name: str) -> Iterator[None]:
        _log(progress, f"stage {name} ...")
        started = time.perf_counter()
        yield
        seconds[name] = round(time.perf_counter() - started, 2)
        atomic_write_text(runs.stages, json.dumps(seconds, indent=2) + "\n")
        _log(progress, f"stage {name} done in {seconds[name]:.1f} s")

    with stage("corpus"):
        if dataset == "synthetic":
            data_root = make_corpus(runs.corpus, actors or SYNTH_ACTORS[profile], progress)
    with stage("prepare"):
        cache_dir, classes = prepare_cache(
            dataset, Path(data_root), runs.cache_root, profile, progress
        )
    with stage("train"):
        run_dirs = train_runs(dataset, profile, seeds, cache_dir, runs, len(classes), progress)
    with stage("fusions"):
        try:
            frozen.run_frozen(
                {seed: (runs.run("audio", seed), runs.run("video", seed)) for seed in seeds},
                cache_dir,
                runs.frozen,
                progress=progress,
            )
        except (ValueError, FileNotFoundError, RuntimeError) as exc:
            raise BookError(f"fusions: {exc}") from exc
    with stage("compare"):
        compare_runs(dataset, profile, seeds, cache_dir, runs, len(classes), progress)
    if speech_root:
        with stage("speech"):
            try:
                speech.run_speech(
                    speech_root, runs.speech, BOOK_PLANS[profile][1], progress=progress
                )
            except speech.SpeechError as exc:
                raise BookError(f"speech: {exc}") from exc

    book_src = out_dir / "book-src"
    staging = out_dir / "staging"
    for folder in (book_src, staging):
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    # Chapters run with the source folder as working directory; paths inside it are passed
    # relative to it, so the parameters cell shown in the book reads runs/book-cpu-synthetic.
    parameters = {
        "dataset": dataset,
        "data_root": _shown_path(Path(data_root), root),
        "runs_root": _shown_path(runs.root, root),
        "profile": profile,
        "seeds": list(seeds),
        "speech_root": _shown_path(speech_root, root) if speech_root else "",
    }
    with stage("notebooks"):
        executed = execute_chapters(chapters, book_src, staging, parameters, root, progress)
    with stage("status"):
        write_status_page(
            book_src / "book" / "status.md",
            dataset=dataset,
            data_root=str(data_root),
            profile=profile,
            seeds=seeds,
            runs_root=runs.root,
            executed=executed,
            run_dirs=run_dirs,
            stage_seconds=dict(seconds),
        )
    with stage("html"):
        copy_book_sources(root, book_src)
        return build_html(book_src, progress)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``book`` sub-command."""
    parser = subparsers.add_parser(
        "book",
        help="build the Jupyter Book: data, training runs, executed notebooks, HTML",
        description=(
            "Generate or read the data, prepare the cache, train cmaf/audio/video for each "
            "seed (finished runs with the same config are reused; one with another config "
            "stops the build with one line), execute every chapter with papermill and build the "
            "HTML with warnings as errors. Prints the path of index.html."
        ),
    )
    parser.add_argument(
        "--dataset", default="synthetic", choices=DATASETS, help="(default %(default)s)"
    )
    parser.add_argument(
        "--data-root", type=Path, default=None, help="dataset folder (real datasets only)"
    )
    parser.add_argument("--profile", default="cpu", choices=PROFILES, help="(default %(default)s)")
    parser.add_argument(
        "--seeds",
        type=int_list,
        default=None,
        help="comma-separated seeds (default: 0,1,2; smoke profile 0)",
    )
    parser.add_argument(
        "--runs-root",
        type=Path,
        default=None,
        help="corpus, cache and runs (default runs/book-PROFILE-DATASET)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("_build"), help="build folder (default %(default)s)"
    )
    parser.add_argument(
        "--actors", type=int, default=None, help="synthetic actors (default: by profile)"
    )
    parser.add_argument(
        "--speech-root",
        type=Path,
        default=None,
        help="RAVDESS audio-only speech folder: also run the real-data chapter's experiment",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        output_dir(args.out, "--out")
        if args.runs_root is not None:
            output_dir(args.runs_root, "--runs-root")
        index = build_book(
            dataset=args.dataset,
            data_root=args.data_root,
            profile=args.profile,
            seeds=args.seeds,
            runs_root=args.runs_root,
            out_dir=args.out,
            actors=args.actors,
            progress=not args.quiet,
            speech_root=args.speech_root,
        )
    except (UsageError, BookError) as exc:
        print(f"cmaf book: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, UsageError) else 1
    print(index)
    return 0
