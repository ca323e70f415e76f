"""What Kumar, Aruldoss & Wynn (2025) report, as data, each value with its place of origin.

Kumar, H.; Aruldoss, M.; Wynn, M. *Cross-Modal Attention Fusion: A Deep Learning and Affective
Computing Model for Emotion Recognition*. Multimodal Technol. Interact. 2025, 9(12), 116.

The numbers are typed in once, in ``cmaf/paper_data/``: one CSV per table (a column per field of
the record dataclass below, and ``source``: the table or section of the paper) and the reference
list in ``references.bib`` (entry ``refNN`` is reference [NN]). :data:`DATASET_FACTS` holds what
the datasets' own papers (refs [38]-[40]) say, apart from the paper's claims. The functions give
the tables as DataFrames and put a replication's results beside them (:func:`compare_per_class`,
:func:`compare_accuracy`).

``REFERENCES`` is read with pybtex (the ``book`` extra) on first use. Listed under ``sphinx:
extra_extensions`` in ``_config.yml``, this module is also the Sphinx extension that registers
the pybtex style ``cmaf_paper``: the book's References printed as the paper's, with its numbers.
"""

from __future__ import annotations

import ast
import csv
import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from cmaf.data.registry import SPECS

# Also entry ``kumar2025`` of references.bib, which the tests check against these two.
CITATION = (
    "Kumar, H.; Aruldoss, M.; Wynn, M. Cross-Modal Attention Fusion: A Deep Learning and "
    "Affective Computing Model for Emotion Recognition. Multimodal Technol. Interact. 2025, 9, "
    "116."
)
DOI = "10.3390/mti9120116"

#: The datasets the paper reports results for (Tables 1-7), by their :mod:`cmaf.data.registry`
#: names. A registered dataset outside this list has no paper numbers to compare with.
DATASETS: tuple[str, ...] = ("ravdess", "crema-d", "iemocap")

#: Display name of every registered dataset (its spec's), as the paper prints the ones it reports.
DISPLAY_NAMES: dict[str, str] = {name: spec.display_name for name, spec in SPECS.items()}

#: Table 4's column names, verbatim.
TABLE4_COLUMNS: tuple[str, str, str] = ("Dataset", "Weighted Accuracy", "Unweighted Accuracy")

TABLE4_NOTE = (
    "Table 4 keeps the paper's column names. The text beside it (Section 3.2) defines "
    "'weighted accuracy' as averaging the accuracy of each class and 'unweighted accuracy' as "
    "correct predictions over all samples, the reverse of the speech-emotion literature, where "
    "WA = overall accuracy and UA = mean per-class recall. The 'Weighted Accuracy' column equals "
    "the accuracies of Tables 5-7, so it is overall accuracy (the literature's WA). The "
    "'Unweighted Accuracy' column matches neither definition: it is not the mean of the per-class "
    "recalls of Tables 1-3 (see mean_recall)."
)


@dataclass(frozen=True)
class PerClassResult:
    """One column of Tables 1–3 (the paper prints classes as columns), in percent."""

    dataset: str
    paper_label: str  # the class name exactly as the table prints it
    label: str  # our canonical lower-case label (cmaf.data loaders)
    precision: float
    recall: float
    f1: float
    source: str  # "Table 1", "Table 2" or "Table 3"


@dataclass(frozen=True)
class AccuracyResult:
    """One row of Table 4, in percent, under the paper's own column names."""

    dataset: str
    weighted_accuracy: float  # column "Weighted Accuracy"
    unweighted_accuracy: float  # column "Unweighted Accuracy"
    source: str = "Table 4"


@dataclass(frozen=True)
class CitedResult:
    """One row of Tables 5–7: a method the paper compares against, or its own model."""

    dataset: str
    source_ref: int | None  # number in the reference list; None for the "Proposed Model" rows
    cite: str  # how the paper's text names the work
    fusion: str
    accuracy: float
    remarks: str
    source: str

    @property
    def method(self) -> str:
        """``"[n] <cite>"``, or the paper's own model."""
        if self.source_ref is None:
            return "Proposed Model (Kumar et al. 2025)"
        return f"[{self.source_ref}] {self.cite}"


@dataclass(frozen=True)
class DatasetProfile:
    """One row of Table A2, verbatim."""

    dataset: str
    total_utterances: int
    modality: str
    emotion_labels: tuple[str, ...]
    source: str = "Table A2"


@dataclass(frozen=True)
class Stated:
    """One number (or short value) the paper states in its text, with where."""

    key: str
    value: Any
    unit: str
    quote: str  # the paper's wording, shortened
    source: str


@dataclass(frozen=True)
class DatasetFact:
    """A fact from a dataset's own description, *not* from the paper (for comparison)."""

    dataset: str
    key: str
    value: Any
    note: str
    source: str  # the dataset's paper and its number in the reference list


@dataclass(frozen=True)
class StudyFlowStage:
    """One box of the narrative review's record flow (Section 2.1)."""

    stage: str
    count: int
    removed_reason: str  # why records were dropped on the way into this stage
    source: str = "Section 2.1"


@dataclass(frozen=True)
class FusionStrategy:
    """One fusion strategy of Section 3.1's taxonomy, with the references the paper cites."""

    name: str
    refs: tuple[int, ...]
    level: str  # where in the pipeline the modalities meet
    description: str  # the paper's description, paraphrased; "" where it gives none
    source: str = "Section 3.1"


@dataclass(frozen=True)
class FrameworkStage:
    """One column of Figure 4 as Section 3.1 describes it: a reading of the text, not the image."""

    title: str
    advances: tuple[tuple[str, tuple[int, ...]], ...]  # shaded grey in Figure 4
    limitations: tuple[tuple[str, tuple[int, ...]], ...]  # marked "!" in Figure 4
    source: str = "Section 3.1 (Figure 4)"


def _rows(name: str) -> list[dict[str, str]]:
    """The rows of ``cmaf/paper_data/<name>``, as strings."""
    with resources.files("cmaf").joinpath("paper_data", name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _refs(text: str) -> tuple[int, ...]:
    # Lists sit in one cell, "; "-separated, so a CSV reader keeps one record per row.
    return tuple(int(n) for n in text.split("; ") if n)


def _records(cls: type, name: str, **parse: Callable[[str], Any]) -> tuple:
    """One ``cls`` per row of ``name``; columns not in ``parse`` stay strings."""
    return tuple(cls(**{k: parse.get(k, str)(v) for k, v in row.items()}) for row in _rows(name))


#: Tables 1–3, one entry per (dataset, class), classes in the paper's column order.
PER_CLASS: tuple[PerClassResult, ...] = _records(
    PerClassResult, "per_class.csv", precision=float, recall=float, f1=float
)

#: Paper class name -> canonical label, per dataset (Tables 1–3 use different wordings).
LABEL_MAPS: dict[str, dict[str, str]] = {
    d: {r.paper_label: r.label for r in PER_CLASS if r.dataset == d} for d in DATASETS
}

#: Table 4.
TABLE4: tuple[AccuracyResult, ...] = _records(
    AccuracyResult, "table4.csv", weighted_accuracy=float, unweighted_accuracy=float
)

#: Tables 5 (RAVDESS), 6 (CREMA-D) and 7 (IEMOCAP), rows in the paper's order.
CITED: tuple[CitedResult, ...] = _records(
    CitedResult, "cited.csv", source_ref=lambda s: int(s) if s else None, accuracy=float
)

#: Table A2 (rows in the paper's order).
DATASET_PROFILES: tuple[DatasetProfile, ...] = _records(
    DatasetProfile,
    "dataset_profiles.csv",
    total_utterances=int,
    emotion_labels=lambda s: tuple(s.split("; ")),
)

# ``value`` cells are Python literals: a value may be a number, a tuple or a string.
#: Values stated in the text that the replication notes check against each other.
STATED: tuple[Stated, ...] = _records(Stated, "stated.csv", value=ast.literal_eval)

_STATED_INDEX = {s.key: s for s in STATED}

#: What the datasets' own papers and distributions state (refs [38] Busso et al. 2008,
#: [39] Livingstone & Russo 2018, [40] Cao et al. 2014).
DATASET_FACTS: tuple[DatasetFact, ...] = _records(
    DatasetFact, "dataset_facts.csv", value=ast.literal_eval
)

#: Section 2.1's record counts, stage by stage.
STUDY_FLOW: tuple[StudyFlowStage, ...] = _records(StudyFlowStage, "study_flow.csv", count=int)

#: Section 3.1's fusion strategies.
FUSION_TAXONOMY: tuple[FusionStrategy, ...] = _records(
    FusionStrategy, "fusion_taxonomy.csv", refs=_refs
)


def _review_search() -> dict[str, Any]:
    # One row per item; these fields are lists in the paper, the others single values.
    lists = ("databases", "keywords", "excluded")
    rows = _rows("review_search.csv")
    search: dict[str, Any] = {}
    for row in rows:
        search.setdefault(row["field"], []).append(row["value"])
    search = {k: tuple(v) if k in lists else v[0] for k, v in search.items()}
    return {**search, "source": rows[0]["source"]}


#: The review's search frame (Section 2.1).
REVIEW_SEARCH: dict[str, Any] = _review_search()

#: The two research questions (Section 1), verbatim.
RESEARCH_QUESTIONS: dict[str, str] = {
    r["key"]: r["question"] for r in _rows("research_questions.csv")
}

#: The two families the taxonomy subdivides (Section 3.1, citing [45]); the paper does not say
#: which strategy belongs to which family.
FUSION_FAMILIES: dict[str, str] = {
    r["family"]: r["description"] for r in _rows("fusion_families.csv")
}


def _conceptual_framework() -> tuple[FrameworkStage, ...]:
    # One row per advance or limitation, stages in the figure's left-to-right order.
    rows = _rows("conceptual_framework.csv")
    stages = []
    for title in dict.fromkeys(r["title"] for r in rows):
        mine = [r for r in rows if r["title"] == title]
        parts = {
            part: tuple((r["text"], _refs(r["refs"])) for r in mine if r["part"] == part)
            for part in ("advance", "limitation")
        }
        stages.append(
            FrameworkStage(title, parts["advance"], parts["limitation"], mine[0]["source"])
        )
    return tuple(stages)


#: Figure 4 as its content is described in Section 3.1 (see :class:`FrameworkStage`).
CONCEPTUAL_FRAMEWORK: tuple[FrameworkStage, ...] = _conceptual_framework()

#: Wordings the paper uses for one emotion (Tables 1-3, Table A2) -> canonical label.
SYNONYMS: dict[str, str] = {r["word"]: r["label"] for r in _rows("synonyms.csv")}


def _check_dataset(dataset: str) -> str:
    key = str(dataset).lower()
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}: use one of {', '.join(DATASETS)}")
    return key


def canonical_label(word: str) -> str:
    """Our canonical label for one of the paper's emotion words (``"Anger"`` -> ``"angry"``)."""
    key = word.strip().lower()
    if key not in SYNONYMS:
        raise KeyError(f"no canonical label for {word!r}")
    return SYNONYMS[key]


def class_names(dataset: str) -> list[str]:
    """Our canonical labels of Tables 1–3's classes for ``dataset``, in the paper's order."""
    key = _check_dataset(dataset)
    return [r.label for r in PER_CLASS if r.dataset == key]


def per_class_table(dataset: str):
    """Table 1, 2 or 3 with a row per class (the paper prints the transpose), by our label."""
    import pandas as pd

    key = _check_dataset(dataset)
    frame = pd.DataFrame([r for r in PER_CLASS if r.dataset == key]).set_index("label")
    return frame[["paper_label", "precision", "recall", "f1", "source"]]


def mean_recall(dataset: str) -> float:
    """Mean per-class recall of Table 1, 2 or 3 (percent): UA as the literature defines it."""
    key = _check_dataset(dataset)
    values = [r.recall for r in PER_CLASS if r.dataset == key]
    return sum(values) / len(values)


def f1_consistency(tolerance: float = 0.011):
    """Is each F1 of Tables 1–3 the harmonic mean of its P and R, within ``tolerance``?

    One row per (dataset, class); the default tolerance allows the two-decimal rounding.
    """
    import pandas as pd

    table = pd.DataFrame(PER_CLASS)
    p, r, f1 = table["precision"], table["recall"], table["f1"]
    harmonic = 2 * p * r / (p + r)
    frame = table[["dataset", "label", "source"]].assign(
        f1_printed=f1, f1_from_p_r=harmonic, difference=f1 - harmonic
    )
    frame["consistent"] = frame["difference"].abs() <= tolerance
    return frame


def table4():
    """Table 4 with the paper's column names, and the literature's UA from Tables 1–3 beside it.

    See :data:`TABLE4_NOTE` and :func:`mean_recall`.
    """
    import pandas as pd

    first, wa, ua = TABLE4_COLUMNS
    return pd.DataFrame(
        {
            first: [DISPLAY_NAMES[r.dataset] for r in TABLE4],
            wa: [r.weighted_accuracy for r in TABLE4],
            ua: [r.unweighted_accuracy for r in TABLE4],
            "mean recall (Tables 1-3)": [mean_recall(r.dataset) for r in TABLE4],
            "source": [r.source for r in TABLE4],
        },
        index=pd.Index([r.dataset for r in TABLE4], name="dataset"),
    )


def cited_methods(dataset: str | None = None):
    """Tables 5–7 (all, or one dataset's); ``source_ref`` is ``<NA>`` for the paper's own row."""
    import pandas as pd

    rows = CITED if dataset is None else [c for c in CITED if c.dataset == _check_dataset(dataset)]
    frame = pd.DataFrame(rows).rename(columns={"cite": "method"})
    frame["source_ref"] = pd.array([c.source_ref for c in rows], dtype="Int64")
    frame["method"] = [c.method for c in rows]
    return frame


def dataset_profiles():
    """Table A2 as a DataFrame (labels joined by ", "), with ``n_labels`` counted."""
    import pandas as pd

    return pd.DataFrame(
        {
            "Dataset": [DISPLAY_NAMES[p.dataset] for p in DATASET_PROFILES],
            "Total Utterances": [p.total_utterances for p in DATASET_PROFILES],
            "Modality": [p.modality for p in DATASET_PROFILES],
            "Emotion Labels": [", ".join(p.emotion_labels) for p in DATASET_PROFILES],
            "n_labels": [len(p.emotion_labels) for p in DATASET_PROFILES],
            "source": [p.source for p in DATASET_PROFILES],
        },
        index=pd.Index([p.dataset for p in DATASET_PROFILES], name="dataset"),
    )


def dataset_facts(dataset: str | None = None):
    """:data:`DATASET_FACTS` (the datasets' own descriptions) as a DataFrame."""
    import pandas as pd

    rows = [f for f in DATASET_FACTS if dataset is None or f.dataset == _check_dataset(dataset)]
    frame = pd.DataFrame(rows)
    # ints beside floats: an object column keeps each value as typed
    frame["value"] = pd.Series([f.value for f in rows], dtype=object)
    return frame


def stated(key: str) -> Any:
    """The value of one :data:`STATED` entry, e.g. ``stated("hop_ms") == 10.0``."""
    if key not in _STATED_INDEX:
        raise KeyError(f"no stated value {key!r}; known: {', '.join(_STATED_INDEX)}")
    return _STATED_INDEX[key].value


def stated_table(keys: Iterable[str] | None = None):
    """:data:`STATED` (or the given keys, in that order) as a DataFrame."""
    import pandas as pd

    items = STATED if keys is None else [_STATED_INDEX[k] for k in keys]
    frame = pd.DataFrame(items).rename(columns={"quote": "paper says"})
    frame["value"] = pd.Series([s.value for s in items], dtype=object)
    return frame.set_index("key")


def study_flow():
    """Section 2.1's record counts as a DataFrame, with the drop between stages computed."""
    import pandas as pd

    frame = pd.DataFrame(STUDY_FLOW).rename(columns={"removed_reason": "why"})
    frame.insert(2, "removed", (-frame["count"].diff()).astype("Int64"))
    return frame


def fusion_taxonomy():
    """Section 3.1's fusion strategies as a DataFrame (name, level, refs, description)."""
    import pandas as pd

    return pd.DataFrame(
        {
            "strategy": [f.name for f in FUSION_TAXONOMY],
            "level": [f.level for f in FUSION_TAXONOMY],
            "references": [", ".join(f"[{n}]" for n in f.refs) for f in FUSION_TAXONOMY],
            "description": [f.description or "(named only)" for f in FUSION_TAXONOMY],
            "source": [f.source for f in FUSION_TAXONOMY],
        }
    )


def _pct(value: float | None) -> float:
    return math.nan if value is None else 100.0 * float(value)


def compare_per_class(
    summary: Mapping[str, Any], dataset: str, metrics: Sequence[str] = ("precision", "recall", "f1")
):
    """A replication's per-class mean ± std beside Table 1, 2 or 3, with the differences.

    ``summary`` is :func:`cmaf.evaluation.runs.aggregate_runs` output (``mean_std`` holds
    ``"<metric>/<label>": [mean, std]`` as fractions). One row per class of the paper's table;
    per metric the columns ``ours`` (text), ``mean``, ``std``, ``paper`` and ``Δ`` (ours −
    paper), in percent; NaN for a class the runs lack.
    """
    import pandas as pd

    from cmaf.evaluation.metrics import format_mean_std

    paper = per_class_table(dataset)
    stats = summary.get("mean_std", summary)
    out = pd.DataFrame(index=paper.index.copy())
    out.insert(0, "paper_label", paper["paper_label"])
    for metric in metrics:
        if metric not in ("precision", "recall", "f1"):
            raise ValueError(f"metric {metric!r}: use precision, recall or f1")
        pairs = [stats.get(f"{metric}/{label}") for label in paper.index]
        out[f"{metric} ours"] = ["—" if p is None else format_mean_std(p[0], p[1]) for p in pairs]
        out[f"{metric} mean"] = [math.nan if p is None else _pct(p[0]) for p in pairs]
        out[f"{metric} std"] = [math.nan if p is None else _pct(p[1]) for p in pairs]
        out[f"{metric} paper"] = paper[metric]
        out[f"{metric} Δ"] = out[f"{metric} mean"] - paper[metric]
    return out


def compare_accuracy(
    summary: Mapping[str, Any],
    dataset: str,
    intervals: Sequence[Mapping[str, Sequence[float]]] = (),
):
    """A replication's WA and UA (mean ± std over runs) beside Table 4.

    Our WA (overall accuracy) sits beside the paper's "Weighted Accuracy" column, our UA (mean
    per-class recall) beside its "Unweighted Accuracy" column and the mean recall of Tables 1–3
    (see :data:`TABLE4_NOTE`). ``summary`` is :func:`cmaf.evaluation.runs.aggregate_runs`
    output; ``intervals``, optional, the ``ci95`` dict of each run's ``metrics.json``.
    """
    import pandas as pd

    from cmaf.evaluation.metrics import format_mean_std

    key = _check_dataset(dataset)
    row = next(r for r in TABLE4 if r.dataset == key)
    stats = summary.get("mean_std", summary)
    records = []
    for name, metric, column, paper_value in (
        ("WA", "accuracy", TABLE4_COLUMNS[1], row.weighted_accuracy),
        ("UA", "ua", TABLE4_COLUMNS[2], row.unweighted_accuracy),
    ):
        mean, std = stats[metric]
        cis = "; ".join(
            f"[{100 * ci[metric][0]:.1f}, {100 * ci[metric][1]:.1f}]"
            for ci in intervals
            if metric in ci
        )
        records.append(
            {
                "metric": name,
                "ours": format_mean_std(mean, std),
                "mean": _pct(mean),
                "std": _pct(std),
                "95% CI per run": cis or "—",
                "paper column": column,
                "paper": paper_value,
                "Δ": _pct(mean) - paper_value,
                "mean recall (Tables 1-3)": mean_recall(key) if name == "UA" else math.nan,
            }
        )
    return pd.DataFrame(records).set_index("metric")


_MONTHS = (
    "January February March April May June July August September October November December"
).split()


def bib_key(number: int) -> str:
    """The ``references.bib`` key of reference ``number`` of the paper (``45`` -> ``"ref45"``)."""
    return f"ref{int(number):02d}"


def _number(key: str) -> int | None:
    """Reference number of a ``references.bib`` key, ``None`` for entries not in the list."""
    match = re.fullmatch(r"ref(\d+)", key)
    return int(match.group(1)) if match else None


@functools.cache
def _bibliography():
    """``references.bib`` parsed by pybtex (a :class:`pybtex.database.BibliographyData`)."""
    from pybtex.database import parse_string

    text = resources.files("cmaf").joinpath("paper_data", "references.bib").read_text("utf-8")
    return parse_string(text, "bibtex")


def _latex(text: str) -> str:
    from pybtex.richtext import Text

    return Text.from_latex(text).render_as("text")


def _date(iso: str) -> str:
    """A BibTeX date range ``YYYY-MM-DD/YYYY-MM-DD`` as the paper prints it (``6–9 October``)."""
    first, _, last = iso.partition("/")
    year, month, day = first.split("-")
    days = f"{int(day)}–{int(last.split('-')[2])}" if last else str(int(day))
    return f"{days} {_MONTHS[int(month) - 1]} {year}"


def _format(entry):
    """One entry as the paper (MDPI style) prints it, as :class:`pybtex.richtext.Text`.

    Its plain text is the reference as printed; journal and book titles are in italics, URLs
    and the DOI are links.
    """
    from pybtex.richtext import HRef, Tag, Text

    f = {name: _latex(value) for name, value in entry.fields.items()}

    def people(role: str, sep: str) -> str:
        names = [_latex(str(p)) for p in entry.persons.get(role, ())]
        return sep.join("et al." if n == "others" else n for n in names)

    authors = people("author", "; ")
    parts: list[Any] = [authors if authors.endswith(".") else authors + ".", " "]
    kind = entry.type
    if kind == "book":
        edition = f", {f['edition']} ed." if "edition" in f else ""
        parts += [Tag("em", f["title"]), f"{edition}; {f['publisher']}: {f['address']}, "]
        parts += [f"{f['year']}."]
    else:
        parts.append(f"{f['title']}. ")
    if kind == "article":
        volume = f"{f['volume']}, " if "volume" in f else ""
        parts += [Tag("em", f["journal"]), f" {f['year']}, {volume}{f['pages']}."]
    elif kind == "incollection":
        parts += ["In ", Tag("em", f["booktitle"]), f"; {people('editor', ', ')}, Eds.; "]
        parts += [f"{f['publisher']}: {f['address']}, {f['year']}; pp. {f['pages']}."]
    elif kind == "inproceedings":
        parts += ["In ", Tag("em", f["booktitle"]), f", {f['venue']}, {_date(f['eventdate'])}; "]
        if "publisher" in f:
            parts.append(f"{f['publisher']}: {f['address']}, {f['year']}; ")
        if "volume" in f:
            parts.append(f"Volume {f['volume']}, ")
        parts.append(f"pp. {f['pages']}.")
    elif kind == "misc" and "eprint" in f:
        parts.append(f"{f['archiveprefix']} {f['year']}, {f['archiveprefix']}:{f['eprint']}.")
    elif kind == "misc":
        parts.append(f"{f['year']}.")
    elif kind != "book":
        raise ValueError(f"references.bib: no format for @{kind} ({entry.key})")
    if "url" in f:
        parts += [" Available online: ", HRef(f["url"], f["url"])]
        parts.append(f" (accessed on {_date(f['urldate'])}).")
    if "doi" in f:
        url = f"https://doi.org/{f['doi']}"
        parts += [" ", HRef(url, url)]
    return Text(*parts)


@functools.cache
def _style():
    """The pybtex style ``cmaf_paper``: :func:`_format`, labels = the paper's numbers."""
    from pybtex.plugin import find_plugin
    from pybtex.style import FormattedEntry
    from pybtex.style.formatting import BaseStyle
    from pybtex.style.labels import BaseLabelStyle

    class PaperLabels(BaseLabelStyle):
        # Entries outside the paper's list (the paper itself) get alphabetic labels.
        def format_labels(self, sorted_entries):
            alpha = find_plugin("pybtex.style.labels", "alpha")()
            for entry in sorted_entries:
                number = _number(entry.key)
                yield str(number) if number else next(alpha.format_labels([entry]))

    class PaperStyle(BaseStyle):
        default_label_style = PaperLabels
        default_sorting_style = "none"  # the order of references.bib

        def format_entry(self, label, entry, bib_data=None):
            return FormattedEntry(entry.key, _format(entry), label)

    return PaperStyle


@functools.cache
def _references() -> dict[int, str]:
    entries = _bibliography().entries
    return {
        n: _format(entry).render_as("text")
        for key, entry in entries.items()
        if (n := _number(key)) is not None
    }


def __getattr__(name: str) -> Any:
    # REFERENCES is read from references.bib on first use, so importing this module needs no
    # pybtex.
    if name == "REFERENCES":
        return _references()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def reference(number: int) -> str:
    """Entry ``number`` of the paper's reference list, as ``"[n] text"``."""
    refs = _references()
    if number not in refs:
        raise KeyError(f"the paper has no reference [{number}] (1..{len(refs)})")
    return f"[{number}] {refs[number]}"


def references(numbers: Iterable[int]) -> list[str]:
    """Sorted, de-duplicated :func:`reference` strings for ``numbers``."""
    return [reference(n) for n in sorted(set(int(n) for n in numbers))]


def short_citation(number: int) -> str:
    """``"Surname et al. YEAR"`` (or ``"A and B YEAR"``) of reference ``number``."""
    entry = _bibliography().entries[bib_key(number)]
    people = entry.persons["author"]
    names = [_latex(" ".join(p.prelast_names + p.last_names)) for p in people]
    if len(names) == 1:
        who = names[0]
    elif len(names) == 2 and names[1] != "others":
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who} {entry.fields['year']}"


def setup(app) -> dict[str, Any]:
    """Sphinx extension: register the pybtex style ``cmaf_paper`` for the book's bibliographies.

    Entries print as in the paper, labelled with its numbers. Chapters select the style per
    directive, so a build without a .bib loads this extension all the same.
    """
    from pybtex.plugin import register_plugin

    register_plugin("pybtex.style.formatting", "cmaf_paper", _style(), force=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
