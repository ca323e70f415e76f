"""The folder a book build fills (``RUNS_ROOT``), and the one check a chapter makes of it::

    corpus/                  the synthetic corpus (synthetic builds only)
    cache/HASH/              the prepared cache (manifest.csv, items/)
    train/<model>-seed<S>/   one run directory per model and seed
    compare/                 the comparison: results.csv, robustness.csv, <model>/<run>/
    speech/                  the real-speech study (results.csv, summary.json)
    frozen/seed<S>/          every fusion trained on that seed's frozen unimodal encoders
    stages.json              seconds per build stage

Chapters and ``cmaf book`` take every path from :class:`BookRuns`, so no path is typed twice. A
chapter begins with :func:`require`, which raises one :class:`ChapterInputMissing` naming the
first missing folder and the ``cmaf book`` command that makes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path


class ChapterInputMissing(FileNotFoundError):
    """What a chapter reads is not under its ``runs_root``; the message says how to make it."""


@dataclass(frozen=True)
class BookRuns:
    """Paths of one book build's ``RUNS_ROOT`` (see the module docstring)."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root).expanduser().resolve())

    @property
    def train_root(self) -> Path:
        return self.root / "train"

    @property
    def compare(self) -> Path:
        return self.root / "compare"

    @property
    def speech(self) -> Path:
        return self.root / "speech"

    @property
    def frozen(self) -> Path:
        return self.root / "frozen"

    @property
    def corpus(self) -> Path:
        return self.root / "corpus"

    @property
    def cache_root(self) -> Path:
        return self.root / "cache"

    @property
    def stages(self) -> Path:
        return self.root / "stages.json"

    def run(self, model: str, seed: int) -> Path:
        """The ``train`` stage's run directory of ``model`` and ``seed``."""
        return self.train_root / f"{model}-seed{int(seed)}"

    def random_split_run(self, model: str, seed: int) -> Path:
        """The build's random-split run of ``model`` and ``seed``: the ``train`` stage's when
        there is one, else the comparison's (``compare/<model>/random-seed<S>``)."""
        run = self.run(model, seed)
        return run if run.is_dir() else self.compare / model / f"random-seed{int(seed)}"

    def runs(self, models: Iterable[str], seeds: Sequence[int]) -> dict[str, list[Path]]:
        """Run directories by model, seed by seed."""
        return {model: [self.run(model, seed) for seed in seeds] for model in models}

    def cache(self) -> Path:
        """The prepared cache directory (``cache/HASH``; the first when there are several)."""
        found = sorted(p.parent for p in self.cache_root.glob("*/manifest.csv"))
        if not found:
            raise ChapterInputMissing(f"{self.cache_root}: no prepared cache")
        return found[0]


def require(
    runs_root: str | Path,
    *,
    models: Iterable[str] = (),
    seeds: Sequence[int] = (0,),
    cache: bool = False,
    corpus: bool = False,
    dataset: str = "synthetic",
    profile: str = "cpu",
    data_root: str | Path = "",
) -> BookRuns:
    """Check that ``runs_root`` holds what a chapter reads; return its :class:`BookRuns`.

    Parameters
    ----------
    models, seeds
        Finished ``train`` runs the chapter reads (each must hold ``metrics.json``).
    cache
        The chapter reads the prepared cache.
    corpus
        The chapter reads the corpus (``data_root`` when given, else ``RUNS_ROOT/corpus``).
    dataset, profile, data_root
        The chapter's parameters, for the command that makes what is missing.

    Raises
    ------
    ChapterInputMissing
        One line: the first missing folder or file and the ``cmaf book`` command that makes it.
    """
    runs = BookRuns(runs_root)
    fix = f"cmaf book --runs-root {runs.root} --profile {profile}"
    fix += f" --seeds {','.join(str(int(s)) for s in seeds)}"
    if dataset != "synthetic":
        fix += f" --dataset {dataset}"
    if data_root:
        fix += f" --data-root {data_root}"

    def missing(what: str, path: Path) -> ChapterInputMissing:
        return ChapterInputMissing(f"{what} missing: {path}; make it with `{fix}`")

    if not runs.root.is_dir():
        raise missing("runs_root", runs.root)
    if cache and not any(runs.cache_root.glob("*/manifest.csv")):
        raise missing("the prepared cache", runs.cache_root)
    if corpus:
        folder = Path(data_root).expanduser() if data_root else runs.corpus
        if not folder.is_dir():
            raise missing("the corpus", folder)
    for model in models:
        for seed in seeds:
            run = runs.run(model, seed)
            if not (run / "metrics.json").is_file():
                raise missing(f"the finished {model} run of seed {seed}", run)
    return runs
