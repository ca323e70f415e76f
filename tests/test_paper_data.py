"""cmaf.paper's data files: the tables' CSVs, references.bib and the chapters' bibliographies."""

from __future__ import annotations

import csv
import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cmaf import paper

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "cmaf" / "paper_data"

# data file -> the records read from it
RECORDS = {
    "per_class.csv": paper.PER_CLASS,
    "table4.csv": paper.TABLE4,
    "cited.csv": paper.CITED,
    "dataset_profiles.csv": paper.DATASET_PROFILES,
    "stated.csv": paper.STATED,
    "dataset_facts.csv": paper.DATASET_FACTS,
    "study_flow.csv": paper.STUDY_FLOW,
    "fusion_taxonomy.csv": paper.FUSION_TAXONOMY,
}


def _header(name: str) -> list[str]:
    with (DATA / name).open(encoding="utf-8") as f:
        return next(csv.reader(f))


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_each_table_is_one_csv_with_its_records_fields(name):
    records = RECORDS[name]
    fields = [f.name for f in dataclasses.fields(records[0])]
    assert _header(name) == fields
    assert all(r.source for r in records), "every record names where in the paper it is from"


def test_every_data_file_is_read():
    read = {*RECORDS, "review_search.csv", "research_questions.csv", "fusion_families.csv"}
    read |= {"conceptual_framework.csv", "synonyms.csv", "references.bib"}
    assert {p.name for p in DATA.iterdir() if p.is_file()} == read


def test_records_keep_their_types():
    assert paper.stated("clip_seconds") == 3.0 and isinstance(paper.stated("clip_seconds"), float)
    assert paper.stated("tucker_core") == (30, 128, 128)
    assert paper.stated("learning_rate") == (1e-4, 1e-3)
    assert paper.stated("optimizer") == "Adam"
    assert [c.source_ref for c in paper.CITED if c.cite == "Proposed Model"] == [None] * 3
    assert paper.REVIEW_SEARCH["period"] == "2014–2025"
    assert len(paper.REVIEW_SEARCH["databases"]) == 6 and paper.REVIEW_SEARCH["source"]
    last = paper.CONCEPTUAL_FRAMEWORK[-1]
    assert last.limitations == () and last.advances[0][1] == (78,)
    assert paper.LABEL_MAPS["iemocap"]["Frustration"] == "frustrated"


def test_importing_needs_no_pybtex():
    # pybtex comes with the book extra; the tables must not need it
    code = (
        "import sys; sys.modules['pybtex'] = None\n"
        "from cmaf import paper\n"
        "assert paper.per_class_table('ravdess').shape == (8, 5)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------------------ references


@pytest.fixture(scope="module")
def bib():
    pytest.importorskip("pybtex", reason="pybtex comes with the book extra")
    return paper._bibliography()


def test_reference_list_is_numbered_as_in_the_paper(bib):
    numbers = [paper._number(key) for key in bib.entries]
    assert numbers == [None, *range(1, 89)]  # the paper itself, then [1]..[88]
    assert len(paper.REFERENCES) == 88
    assert paper.bib_key(5) == "ref05" and paper._number(paper.bib_key(45)) == 45
    assert paper.reference(39).startswith("[39] Livingstone, S.R.; Russo, F.A. The Ryerson")
    with pytest.raises(KeyError):
        paper.reference(89)


def test_entries_format_as_the_paper_prints_them(bib):
    entry = bib.entries["kumar2025"]
    assert paper._format(entry).render_as("text") == f"{paper.CITATION} https://doi.org/{paper.DOI}"
    # in-proceedings with a publisher, a URL, LaTeX escapes, corporate authors
    assert paper.REFERENCES[50].startswith("Aouani, H.; Ayed, Y.B. Speech Emotion Recognition")
    assert "Information & Engineering" in paper.REFERENCES[50]
    assert paper.REFERENCES[29].startswith("Indeed Editorial Team. Experimental Research")
    assert paper.REFERENCES[29].endswith("(accessed on 10 October 2025).")
    assert "Paris, France, 5–9 May 2014; Volume 2, pp. 1061–1068." in paper.REFERENCES[5]
    html = paper._format(bib.entries["ref45"]).render_as("html")
    assert "<em>Image Vis. Comput.</em>" in html


def test_short_citations(bib):
    assert paper.short_citation(45) == "Mocanu et al. 2023"
    assert paper.short_citation(85) == "Moorthy and Moon 2025"
    assert paper.short_citation(31) == "Tucker 1966"
    assert paper.short_citation(5) == "DeVault et al. 2014"  # "..., Lhommet, M.; et al."
    assert paper.short_citation(29) == "Indeed Editorial Team 2024"
    for c in paper.CITED:
        if c.source_ref is not None:
            assert paper.short_citation(c.source_ref) == c.cite, c


def test_book_style_labels_entries_with_the_papers_numbers(bib):
    class App:
        pass

    assert paper.setup(App())["parallel_read_safe"]
    from pybtex.plugin import find_plugin

    style = find_plugin("pybtex.style.formatting", "cmaf_paper")()
    entries = [bib.entries[k] for k in ("kumar2025", "ref07", "ref45")]
    formatted = list(style.format_entries(entries))
    assert [e.label for e in formatted] == ["KAW25", "7", "45"]
    assert formatted[2].text.render_as("text") == paper.REFERENCES[45]


def test_root_bib_is_the_packaged_one():
    assert (ROOT / "references.bib").resolve() == (DATA / "references.bib").resolve()


# ------------------------------------------------------------------------------ chapters


def _bibliographies() -> dict[str, tuple[list[str], list[str]]]:
    """Chapter -> (options, keys) of its {bibliography} directive."""
    found = {}
    for path in sorted((ROOT / "notebooks").glob("*.md")):
        match = re.search(r"```\{bibliography\}\n(.*?)```", path.read_text(), re.S)
        if match:
            lines = match.group(1).splitlines()
            found[path.stem] = (
                [x for x in lines if x.startswith(":")],
                [x for x in lines if not x.startswith(":")],
            )
    return found


def test_chapter_bibliographies(bib):
    found = _bibliographies()
    assert found, "no chapter has a References bibliography"
    prefixes = []
    for chapter, (options, keys) in found.items():
        assert ":style: cmaf_paper" in options, chapter
        # one key prefix per chapter: an entry in two bibliographies is a duplicate otherwise
        prefixes += [o for o in options if o.startswith(":keyprefix:")]
        assert all(k in bib.entries for k in keys), chapter
        assert keys == sorted(keys, key=list(bib.entries).index), f"{chapter}: bib order"
    assert len(prefixes) == len(set(prefixes)) == len(found)
    # the chapters that show cited methods or the review list every reference they name
    assert ":all:" in found["01_literature"][0]
    cited = {paper.bib_key(c.source_ref) for c in paper.CITED if c.source_ref is not None}
    assert cited <= set(found["08_baselines"][1])
