"""The published RAVDESS anchors: every row sourced and in range, the table's values readable."""

from __future__ import annotations

import re

import pytest

from cmaf import anchors


@pytest.mark.parametrize("anchor", anchors.RAVDESS_AUDIO, ids=lambda a: a.citation.split(",")[0])
def test_every_anchor_is_sourced_and_in_range(anchor):
    assert anchor.citation.strip() and anchor.source.strip() and anchor.metric.strip()
    assert 0 < anchor.value <= 100
    assert anchor.speaker_independent in (True, False, None)
    assert 0 <= anchor.decimals <= 2


def test_table_values_render_with_at_most_two_decimals():
    table = anchors.ravdess_audio_table()
    assert len(table) == len(anchors.RAVDESS_AUDIO)
    assert "differs from ours" in table.columns
    for text, anchor in zip(table["value (%)"], anchors.RAVDESS_AUDIO, strict=True):
        assert isinstance(text, str)
        assert re.fullmatch(r"\d{1,3}(\.\d{1,2})?", text), text
        assert float(text) == pytest.approx(anchor.value)
    html = table.style.hide(axis="index").to_html()  # how the chapter shows it
    assert "94.18<" in html and "94.180000" not in html


def test_pepino_row_marks_what_differs_from_our_protocol():
    (row,) = [a for a in anchors.RAVDESS_AUDIO if a.citation.startswith("Pepino")]
    assert row.speaker_independent is True
    for difference in ("song", "7 classes", "average recall"):
        assert difference in row.differs
    assert "github.com/habla-liaa/ser-with-w2v2" in row.source
