"""``cmaf book``: build the Jupyter Book from data to HTML in one command.

Stages (each timed; the seconds are written to ``RUNS_ROOT/stages.json`` as they finish):

``corpus``
    Synthetic data only: ``cmaf synth`` into ``RUNS_ROOT/corpus`` (an existing finished corpus
    of the same configuration is reused). Real datasets are read from ``data_root``.
``prepare``
    Preprocess every clip with the profile's preprocessing settings into
    ``RUNS_ROOT/cache/<hash>/`` (clips already cached are skipped).
``train``
    One run per seed and model (``cmaf``, ``audio``, ``video``) into
    ``RUNS_ROOT/train/<model>-seed<S>/``; a run with ``metrics.json`` is reused, an interrupted
    one resumed from ``checkpoints/last.pt``.
``compare``
    CMAF, its baselines and ablations under the random split and held-out actors, then the
    test-time robustness sweep (``cmaf compare`` with the profile's plan,
    :data:`cmaf.experiments.compare.BOOK_PLANS`) into ``RUNS_ROOT/compare``; the ``train``
    stage's runs are reused where the configs match.
``speech``
    Only when a RAVDESS speech folder is given (``--speech-root``; ``make book`` passes the
    shared copy when it exists): ``cmaf speech`` with the profile's plan
    (:data:`cmaf.experiments.speech.BOOK_PLANS`) into ``RUNS_ROOT/speech``, for the real-data
    chapter.
``notebooks``
    Every chapter of ``_toc.yml`` that lives in ``notebooks/`` is converted by jupytext and
    executed by papermill with the book parameters into ``OUT/book-src/notebooks/NAME.ipynb``.
    The sources in ``notebooks/`` are only read and stay free of outputs.
``status``
    ``OUT/book-src/book/status.md``: versions, commit, parameters and the time of each
    notebook and stage.
``html``
    ``jupyter-book build OUT/book-src --all -W -n --keep-going`` (warnings are errors; the book
    never executes code itself).

The notebook parameter contract: each chapter has one cell tagged ``parameters`` holding
exactly :data:`PARAMETERS` (the defaults below) plus its entry in :data:`CHAPTER_PARAMETERS`;
``cmaf book`` overrides all of them.

``RUNS_ROOT`` layout::

    RUNS_ROOT/corpus/                 synthetic corpus (dataset "synthetic" only)
    RUNS_ROOT/cache/<hash>/           the prepared cache (one preprocessing config)
    RUNS_ROOT/train/<model>-seed<S>/  run directories, model in cmaf, audio, video
    RUNS_ROOT/compare/                results.csv, robustness.csv, <model>/<protocol run>/
    RUNS_ROOT/speech/                 the real-data chapter's runs (``cmaf speech``)
    RUNS_ROOT/stages.json             seconds per stage of the last build
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
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from cmaf.arguments import int_list
from cmaf.data import registry
from cmaf.layout import BookRuns

#: Accepted ``--dataset`` values: "synthetic" (generated, read as RAVDESS) and every registered
#: dataset.
DATASETS = ("synthetic", *registry.DATASETS)
#: Accepted ``--profile`` values (see :mod:`cmaf.training.config`).
PROFILES = ("cpu", "paper", "smoke")
#: The models trained for every seed, in training order.
MODELS = ("cmaf", "audio", "video")
#: Synthetic actors (60 clips each) generated for each profile.
SYNTH_ACTORS = {"smoke": 2, "cpu": 8, "paper": 24}
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
STAGES = ("corpus", "prepare", "train", "compare", "speech", "notebooks", "status", "html")
#: Name of the private Jupyter kernel that runs the chapters with this interpreter.
KERNEL_NAME = "cmaf-book-python3"
#: Packages whose versions the status page lists.
STATUS_PACKAGES = (
    "cmaf",
    "torch",
    "torchvision",
    "torchaudio",
    "numpy",
    "scikit-learn",
    "matplotlib",
    "seaborn",
    "av",
    "jupyter-book",
    "sphinx",
    "myst-nb",
    "papermill",
    "jupytext",
    "ipykernel",
)


class BookError(RuntimeError):
    """A build step failed; the message is one line naming what failed and where."""


# ----------------------------------------------------------------------------- helpers


def source_root() -> Path:
    """The folder holding ``_config.yml``, ``_toc.yml``, ``book/`` and ``notebooks/``.

    The repository root when ``cmaf`` is installed in editable mode from a checkout, otherwise
    the current directory.
    """
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "_toc.yml").is_file():
        return checkout
    return Path.cwd()


def default_runs_root(profile: str, dataset: str) -> Path:
    """``runs/book-<profile>-<dataset>`` (relative to the current directory)."""
    return Path("runs") / f"book-{profile}-{dataset}"


def _log(progress: bool, message: str) -> None:
    if progress:
        print(f"cmaf book: {message}", file=sys.stderr, flush=True)


class _Stages:
    """Times the build's stages and keeps ``stages.json`` up to date after each one."""

    def __init__(self, path: Path, progress: bool) -> None:
        self.path = path
        self.progress = progress
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        _log(self.progress, f"stage {name} ...")
        started = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - started, 2)
        self.write()
        _log(self.progress, f"stage {name} done in {self.seconds[name]:.1f} s")

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(json.dumps(self.seconds, indent=2) + "\n")
        os.replace(tmp, self.path)


def toc_files(toc_path: str | Path) -> list[str]:
    """Every document of a Jupyter Book 1 ``_toc.yml``, in reading order (root first).

    Parameters
    ----------
    toc_path
        The ``_toc.yml`` file.

    Returns
    -------
    list of str
        Paths relative to the book root, without suffix (e.g. ``notebooks/01_literature``).
    """
    import yaml

    data = yaml.safe_load(Path(toc_path).read_text()) or {}
    found: list[str] = []

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

    if "root" in data:
        found.append(str(data["root"]))
    walk(data)
    return [
        str(Path(f).with_suffix("")) if Path(f).suffix in (".md", ".ipynb") else f for f in found
    ]


def chapter_sources(root: Path, toc_path: Path | None = None) -> list[tuple[str, Path]]:
    """The ``notebooks/`` chapters of the table of contents and their source files.

    Parameters
    ----------
    root
        Book source folder.
    toc_path
        Table of contents; ``root/_toc.yml`` by default.

    Returns
    -------
    list of (str, Path)
        ``(entry, source)`` pairs in reading order, e.g. ``("notebooks/01_literature",
        root/"notebooks/01_literature.md")``.

    Raises
    ------
    BookError
        An entry under ``notebooks/`` has no ``.md`` (jupytext MyST) or ``.ipynb`` source.
    """
    toc_path = toc_path or root / "_toc.yml"
    pairs = []
    for entry in toc_files(toc_path):
        if not entry.startswith("notebooks/"):
            continue
        for suffix in (".md", ".ipynb"):
            candidate = root / f"{entry}{suffix}"
            if candidate.is_file():
                pairs.append((entry, candidate))
                break
        else:
            raise BookError(f"{toc_path.name} lists {entry}, but {entry}.md does not exist")
    return pairs


def _shown_path(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` when inside it (POSIX form), else absolute."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())


# ----------------------------------------------------------------------------- stages


def make_corpus(corpus_dir: Path, actors: int, progress: bool) -> Path:
    """Stage ``corpus``: the synthetic corpus (reused when already complete).

    Parameters
    ----------
    corpus_dir
        Target folder (``RUNS_ROOT/corpus``).
    actors
        Number of synthetic actors, 60 clips each.
    progress
        Show a progress bar.

    Returns
    -------
    Path
        ``corpus_dir``.
    """
    from cmaf.data.synth import SynthError, synthesize

    try:
        summary = synthesize(corpus_dir, actors=actors, workers=2, progress=progress)
    except SynthError as exc:
        raise BookError(f"corpus: {exc}") from exc
    state = "reused" if summary.reused else f"wrote {summary.clips} clips"
    _log(progress, f"corpus {corpus_dir}: {state}")
    return corpus_dir


def prepare_cache(
    dataset: str, data_root: Path, cache_root: Path, profile: str, progress: bool
) -> tuple[Path, tuple[str, ...]]:
    """Stage ``prepare``: scan the dataset and cache it with the profile's preprocessing.

    Parameters
    ----------
    dataset
        One of :data:`DATASETS` (``synthetic`` is read as RAVDESS).
    data_root
        The dataset folder (only read).
    cache_root
        ``RUNS_ROOT/cache``.
    profile
        Experiment profile whose ``preprocess`` settings are used.
    progress
        Show a progress bar.

    Returns
    -------
    (Path, tuple of str)
        The cache directory ``cache_root/<hash>`` and the class names in label order.
    """
    from cmaf.data.cache import prepare
    from cmaf.data.records import DataError
    from cmaf.data.registry import classes_for, scan_dataset
    from cmaf.training.config import load_config

    cfg = load_config(profile).preprocess
    name = "ravdess" if dataset == "synthetic" else dataset
    options = {"modality": "audio" if cfg.modality == "audio" else "av"}
    try:
        scan = scan_dataset(name, data_root, **options)
        classes = tuple(classes_for(name, **options))
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


def train_runs(
    dataset: str,
    profile: str,
    seeds: Sequence[int],
    cache_dir: Path,
    runs: BookRuns,
    num_classes: int,
    progress: bool,
) -> list[Path]:
    """Stage ``train``: every (seed, model) run, reusing finished ones and resuming others.

    Parameters
    ----------
    dataset
        One of :data:`DATASETS`.
    profile
        Experiment profile.
    seeds
        Training seeds.
    cache_dir
        The prepared cache.
    runs
        The build's folders; runs go to ``RUNS_ROOT/train/<model>-seed<S>``.
    num_classes
        Classes of the dataset.
    progress
        Progress bars and per-epoch lines.

    Returns
    -------
    list of Path
        The run directories, seed by seed in :data:`MODELS` order.
    """
    from cmaf.experiments.protocols import ensure_run

    run_dirs = []
    for seed in seeds:
        for model in MODELS:
            run_dir = runs.run(model, seed)
            run_dirs.append(run_dir)
            config = _book_config(profile, dataset, num_classes)
            config.name = f"{profile}-{model}"
            config.model.fusion = model
            config.train.seed = int(seed)
            try:
                config.validate()
                ensure_run(
                    config,
                    cache_dir,
                    run_dir,
                    progress=progress,
                    log=lambda message: _log(progress, f"train {message}"),
                )
            except (ValueError, FileNotFoundError, FileExistsError, RuntimeError) as exc:
                raise BookError(f"train {run_dir.name}: {exc}") from exc
    return run_dirs


def _book_config(profile: str, dataset: str, num_classes: int):
    """The profile's config for the book's dataset and class count (train and compare stages)."""
    from cmaf.training.config import load_config

    config = load_config(profile)
    config.model.num_classes = num_classes
    if dataset != "synthetic":
        config.data.dataset = dataset
    return config


def compare_runs(
    dataset: str,
    profile: str,
    seeds: Sequence[int],
    cache_dir: Path,
    runs: BookRuns,
    num_classes: int,
    progress: bool,
) -> Path:
    """Stage ``compare``: CMAF, its baselines and ablations under both protocols, and the sweep.

    Runs :func:`cmaf.experiments.compare.run_compare` with the profile's plan
    (:data:`cmaf.experiments.compare.BOOK_PLANS`) into ``RUNS_ROOT/compare``; the ``train``
    stage's runs stand in for the comparison's random-split runs where their configs match.
    Returns the path of ``results.csv``.
    """
    from cmaf.experiments.compare import BOOK_PLANS, PLANS, run_compare

    plan = PLANS[BOOK_PLANS[profile]]
    config = _book_config(profile, dataset, num_classes)
    if plan.epochs is not None:
        config.train.epochs = plan.epochs
    reuse = {
        (model, f"random-seed{seed}"): runs.run(model, seed) for seed in seeds for model in MODELS
    }
    try:
        return run_compare(
            config,
            cache_dir,
            runs.compare,
            plan.fusions,
            plan.seeds if plan.seeds is not None else tuple(seeds),
            plan.folds,
            reuse=reuse,
            groups_per_fold=plan.groups_per_fold,
            robustness=plan.sweep,
            progress=progress,
            log=lambda message: _log(progress, f"compare {message}"),
        )
    except (ValueError, FileNotFoundError, FileExistsError, RuntimeError) as exc:
        raise BookError(f"compare: {exc}") from exc


@contextmanager
def _kernel(work_dir: Path) -> Iterator[str]:
    """A private kernelspec running this interpreter, found through ``JUPYTER_PATH``."""
    kernel_dir = work_dir / "jupyter" / "kernels" / KERNEL_NAME
    kernel_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [
            sys.executable,
            "-m",
            "ipykernel_launcher",
            "--log-level=CRITICAL",
            "-f",
            "{connection_file}",
        ],
        "display_name": "Python 3 (cmaf book)",
        "language": "python",
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


def _first_line(text: str, limit: int = 80) -> str:
    line = next((part.strip() for part in str(text).splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


def execute_chapters(
    chapters: Sequence[tuple[str, Path]],
    book_src: Path,
    staging: Path,
    parameters: dict[str, Any],
    cwd: Path,
    progress: bool,
) -> list[Path]:
    """Stage ``notebooks``: jupytext -> ipynb -> papermill, one chapter at a time.

    Parameters
    ----------
    chapters
        ``(entry, source)`` pairs from :func:`chapter_sources`.
    book_src
        Build tree; each chapter is executed into ``book_src/<entry>.ipynb``.
    staging
        Scratch folder for the converted sources and the private kernelspec.
    parameters
        Values for the chapters' ``parameters`` cell: :data:`PARAMETERS`' names, and those of
        :data:`CHAPTER_PARAMETERS`, which go only to the chapters that declare them.
    cwd
        Working directory of the kernel (the source folder).
    progress
        One line per chapter on stderr.

    Returns
    -------
    list of Path
        The executed notebooks, in order.

    Raises
    ------
    BookError
        A cell raised: the message names the notebook, the cell and the exception.
    """
    import jupytext
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    executed = []
    with _kernel(staging) as kernel_name:
        for entry, source in chapters:
            nb = jupytext.read(source)
            nb.metadata.pop("jupytext", None)
            nb.metadata["kernelspec"] = {
                "name": kernel_name,
                "display_name": "Python 3 (cmaf book)",
                "language": "python",
            }
            staged = staging / f"{entry}.ipynb"
            staged.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, staged)
            output = book_src / f"{entry}.ipynb"
            output.parent.mkdir(parents=True, exist_ok=True)
            _log(
                progress,
                f"executing {source.relative_to(cwd) if source.is_relative_to(cwd) else source}",
            )
            own = {
                name: parameters.get(name, default)
                for name, default in CHAPTER_PARAMETERS.get(entry, {}).items()
            }
            try:
                papermill.execute_notebook(
                    str(staged),
                    str(output),
                    parameters={**{k: parameters[k] for k in PARAMETERS}, **own},
                    kernel_name=kernel_name,
                    cwd=str(cwd),
                    progress_bar=False,
                    log_output=False,
                    request_save_on_cell_execute=False,
                )
            except PapermillExecutionError as exc:
                raise BookError(
                    f"notebook {source.name}: cell In [{exc.exec_count}] "
                    f"({_first_line(exc.source)!r}) raised {exc.ename}: "
                    f"{_first_line(exc.evalue, 200)}"
                    f" (executed copy with the traceback: {output})"
                ) from exc
            except Exception as exc:  # kernel died, bad parameters cell, ...
                raise BookError(f"notebook {source.name}: {type(exc).__name__}: {exc}") from exc
            _postprocess(output)
            executed.append(output)
    return executed


def _postprocess(path: Path) -> None:
    """Hide an executed chapter's default ``parameters`` cell (the injected cell right after it
    shows the values that ran)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    tags = [cell.get("metadata", {}).get("tags", []) for cell in nb.cells]
    injected = any("injected-parameters" in t for t in tags)
    for cell, cell_tags in zip(nb.cells, tags, strict=True):
        if injected and "parameters" in cell_tags and "remove-cell" not in cell_tags:
            cell.metadata["tags"] = [*cell_tags, "remove-cell"]
    nbformat.write(nb, path)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _notebook_seconds(path: Path) -> float | None:
    try:
        meta = json.loads(path.read_text())["metadata"].get("papermill", {})
    except (OSError, ValueError, KeyError):
        return None
    duration = meta.get("duration")
    return float(duration) if duration is not None else None


def _run_row(run_dir: Path) -> str:
    try:
        run = json.loads((run_dir / "run.json").read_text())
        scalars = json.loads((run_dir / "metrics.json").read_text())["scalars"]
    except (OSError, ValueError, KeyError):
        return f"| `{run_dir.name}` | – | – | – | – |"
    return (
        f"| `{run_dir.name}` | {float(run.get('wall_seconds', float('nan'))):.1f} | "
        f"{scalars.get('accuracy', float('nan')):.4f} | "
        f"{scalars.get('macro_f1', float('nan')):.4f} | {scalars.get('ua', float('nan')):.4f} |"
    )


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
    """Stage ``status``: write the generated ``book/status.md`` page.

    Parameters
    ----------
    path
        Where to write it (``OUT/book-src/book/status.md``).
    dataset, data_root, profile, seeds, runs_root
        The build parameters.
    executed
        Executed chapter notebooks (their papermill metadata gives the run times).
    run_dirs
        Training runs of this build.
    stage_seconds
        Seconds of the stages finished so far.

    Returns
    -------
    Path
        ``path``.
    """
    from cmaf.training.loop import git_commit

    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    synthetic = dataset == "synthetic"
    lines = [
        "# Build status",
        "",
        "This page is generated by `cmaf book` each time the book is built; it records what "
        "this copy of the book was built from.",
        "",
    ]
    if synthetic:
        lines += [
            ":::{important}",
            "This build uses the **synthetic** corpus embedded in `cmaf` (`cmaf synth`), not the "
            "paper's datasets. Every number and figure in it describes synthetic data; see the "
            "introduction for how to rebuild the book on RAVDESS, CREMA-D or IEMOCAP.",
            ":::",
            "",
        ]
    lines += [
        "## Parameters",
        "",
        "| parameter | value |",
        "| --- | --- |",
        f"| dataset | `{dataset}` |",
        f"| data_root | `{data_root or '(generated corpus)'}` |",
        f"| profile | `{profile}` |",
        f"| seeds | `{', '.join(str(s) for s in seeds)}` |",
        f"| runs_root | `{runs_root}` |",
        f"| built | {now} |",
        f"| git commit | `{git_commit()}` |",
        f"| python | {platform.python_version()} ({platform.machine()}) |",
        f"| platform | {platform.platform()} |",
        "",
        "## Package versions",
        "",
        "| package | version |",
        "| --- | --- |",
        *[f"| {name} | {_version(name)} |" for name in STATUS_PACKAGES],
        "",
        "## Chapters",
        "",
        "Execution time of each chapter (papermill), in seconds.",
        "",
        "| notebook | seconds |",
        "| --- | ---: |",
    ]
    for nb_path in executed:
        seconds = _notebook_seconds(nb_path)
        shown = f"{seconds:.1f}" if seconds is not None else "–"
        lines.append(f"| `{nb_path.name}` | {shown} |")
    lines += [
        "",
        "## Training runs",
        "",
        "Test-split results of each run (one seed each; the chapters aggregate them). "
        "Seconds are the run's own wall time, also when this build reused it.",
        "",
        "| run | seconds | accuracy | macro-F1 | UA |",
        "| --- | ---: | ---: | ---: | ---: |",
        *[_run_row(run_dir) for run_dir in run_dirs],
        "",
        "## Stages",
        "",
        "Seconds per stage of this build (also in `stages.json` under the runs root; stages "
        "that reused earlier work take little time). The HTML stage runs after this page is "
        "written, so its time is only in `stages.json`.",
        "",
        "| stage | seconds |",
        "| --- | ---: |",
        *[f"| {name} | {stage_seconds[name]:.1f} |" for name in STAGES if name in stage_seconds],
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return path


def copy_book_sources(root: Path, book_src: Path) -> None:
    """Copy the book configuration, references and static pages next to the executed notebooks.

    Pages link to chapters with ``{doc}`` roles, which resolve whatever the chapter's suffix.
    """
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text()) or {}
    if (root / "references.bib").is_file():
        shutil.copy2(root / "references.bib", book_src / "references.bib")
        config["bibtex_bibfiles"] = ["references.bib"]
    (book_src / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    shutil.copy2(root / "_toc.yml", book_src / "_toc.yml")
    pages = root / "book"
    if pages.is_dir():
        for item in pages.iterdir():
            if item.name.startswith((".", "_")) or item.name == "status.md":
                continue
            target = book_src / "book" / item.name
            target.parent.mkdir(parents=True, exist_ok=True)
            if item.is_dir():
                shutil.copytree(item, target, dirs_exist_ok=True)
            else:
                shutil.copy2(item, target)


def _jupyter_book_command() -> list[str]:
    script = Path(sys.executable).parent / "jupyter-book"
    if script.is_file():
        return [str(script)]
    found = shutil.which("jupyter-book")
    if found:
        return [found]
    raise BookError("html: jupyter-book is not installed (pip install -e '.[book]')")


def build_html(book_src: Path, progress: bool) -> Path:
    """Stage ``html``: ``jupyter-book build --all -W -n --keep-going``.

    Raises
    ------
    BookError
        The build failed or warned; the message quotes the first warnings.
    """
    command = [*_jupyter_book_command(), "build", str(book_src), "--all", "-W", "-n"]
    command += ["--keep-going"]
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
    seeds: Sequence[int] = (0,),
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
    dataset
        ``synthetic`` (generated into ``RUNS_ROOT/corpus``), ``ravdess``, ``crema-d`` or
        ``iemocap``.
    data_root
        The dataset folder; required for the real datasets, ignored for ``synthetic``.
    profile
        Experiment profile: ``cpu``, ``paper`` or ``smoke``.
    seeds
        Training seeds; each trains the three models ``cmaf``, ``audio`` and ``video``.
    runs_root
        Corpus, cache and runs; default ``runs/book-<profile>-<dataset>``. Finished work there
        is reused by the next build.
    out_dir
        Build folder; the book sources go to ``OUT/book-src`` and the HTML to
        ``OUT/book-src/_build/html``.
    actors
        Synthetic actors; default :data:`SYNTH_ACTORS` of the profile.
    progress
        Progress messages and bars on stderr.
    source_dir
        Folder with ``_config.yml``, ``_toc.yml``, ``book/`` and ``notebooks/``; default the
        repository (:func:`source_root`). Tests point it at a throwaway book.
    speech_root
        RAVDESS's audio-only speech folder (``Actor_XX/03-01-*.wav`` or ``.flac``): runs the
        ``speech`` stage for the real-data chapter. ``None`` skips it (the chapter then says
        how to get the data).

    Returns
    -------
    Path
        ``OUT/book-src/_build/html/index.html``.

    Raises
    ------
    BookError
        Bad arguments or a failed stage (one-line message naming it).
    """
    if dataset not in DATASETS:
        raise BookError(f"unknown dataset {dataset!r}: use one of {', '.join(DATASETS)}")
    if profile not in PROFILES:
        raise BookError(f"unknown profile {profile!r}: use one of {', '.join(PROFILES)}")
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise BookError("at least one seed is needed")
    root = Path(source_dir).resolve() if source_dir else source_root()
    for needed in ("_config.yml", "_toc.yml"):
        if not (root / needed).is_file():
            raise BookError(f"{root}: no {needed} (run from the repository or pass source_dir)")
    runs = BookRuns(runs_root or default_runs_root(profile, dataset))
    runs_root = runs.root
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
    stages = _Stages(runs.stages, progress)

    with stages.stage("corpus"):
        if dataset == "synthetic":
            actors = actors or SYNTH_ACTORS[profile]
            data_root = make_corpus(runs.corpus, actors, progress)
    with stages.stage("prepare"):
        cache_dir, classes = prepare_cache(
            dataset, Path(data_root), runs.cache_root, profile, progress
        )
    with stages.stage("train"):
        run_dirs = train_runs(dataset, profile, seeds, cache_dir, runs, len(classes), progress)

    with stages.stage("compare"):
        compare_runs(dataset, profile, seeds, cache_dir, runs, len(classes), progress)

    if speech_root:
        from cmaf.experiments.speech import BOOK_PLANS, SpeechError, run_speech

        with stages.stage("speech"):
            try:
                run_speech(speech_root, runs.speech, BOOK_PLANS[profile], progress=progress)
            except SpeechError as exc:
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
        "runs_root": _shown_path(runs_root, root),
        "profile": profile,
        "seeds": list(seeds),
        "speech_root": _shown_path(speech_root, root) if speech_root else "",
    }
    with stages.stage("notebooks"):
        executed = execute_chapters(chapters, book_src, staging, parameters, root, progress)
    with stages.stage("status"):
        write_status_page(
            book_src / "book" / "status.md",
            dataset=dataset,
            data_root=str(data_root),
            profile=profile,
            seeds=seeds,
            runs_root=runs_root,
            executed=executed,
            run_dirs=run_dirs,
            stage_seconds=dict(stages.seconds),
        )
    with stages.stage("html"):
        copy_book_sources(root, book_src)
        index = build_html(book_src, progress)
    return index


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
        "--seeds", type=int_list, default=(0,), help="comma-separated seeds (default 0)"
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
    from cmaf.arguments import UsageError, output_dir

    try:
        output_dir(args.out, "--out")
        if args.runs_root is not None:
            output_dir(args.runs_root, "--runs-root")
    except UsageError as exc:
        print(f"cmaf book: error: {exc}", file=sys.stderr)
        return 2
    try:
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
    except BookError as exc:
        print(f"cmaf book: error: {exc}", file=sys.stderr)
        return 1
    print(index)
    return 0


__all__ = [
    "CHAPTER_PARAMETERS",
    "DATASETS",
    "MODELS",
    "PARAMETERS",
    "PROFILES",
    "STAGES",
    "BookError",
    "build_book",
    "chapter_sources",
    "default_runs_root",
    "toc_files",
]
