"""The RAVDESS loader on the real shared audio-only copy (1440 FLAC files).

Skipped cleanly when the folder is absent. Point ``CMAF_RAVDESS_AUDIO_ROOT`` at another copy of
``Audio_Speech_Actors_01-24`` (``.wav`` or ``.flac``) to run it there.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
import soundfile as sf

from cmaf.data import ravdess

pytestmark = pytest.mark.realdata

DEFAULT_ROOT = Path(__file__).resolve().parents[1].parent / "shared/data/ravdess-speech"

#: The five clips distributed as stereo (per the shared copy's SOURCE_SHA256.tsv channel column).
STEREO = {
    "03-01-02-01-01-02-01",
    "03-01-08-01-02-02-01",
    "03-01-02-01-02-02-05",
    "03-01-03-01-02-01-20",
    "03-01-06-01-01-02-20",
}


@pytest.fixture(scope="module")
def root() -> Path:
    path = Path(os.environ.get("CMAF_RAVDESS_AUDIO_ROOT", DEFAULT_ROOT))
    if not path.is_dir():
        pytest.skip(f"real RAVDESS audio not found at {path} (set CMAF_RAVDESS_AUDIO_ROOT)")
    return path


@pytest.fixture(scope="module")
def records(root):
    result = ravdess.scan(root, modality="audio")
    assert result.problems == []
    return result.records


def test_counts(records):
    assert len(records) == 1440
    per_actor = Counter(r.speaker for r in records)
    assert per_actor == {f"ravdess-{a:02d}": 60 for a in range(1, 25)}
    per_label = Counter(r.label for r in records)
    assert per_label == {label: (96 if label == "neutral" else 192) for label in ravdess.CLASSES}
    assert Counter(r.meta["sex"] for r in records) == {"male": 720, "female": 720}
    assert len({r.meta["take"] for r in records}) == 1440
    assert len({r.meta["prompt"] for r in records}) == 720


def test_labels_and_actors_match_names(records):
    for record in records:
        fields = record.clip_id.split("-")
        assert fields[0] == "03" and fields[1] == "01"
        assert record.label == ravdess.CLASSES[int(fields[2]) - 1]
        assert record.speaker == record.group == f"ravdess-{fields[6]}"
        assert record.audio_path.parent.name == f"Actor_{fields[6]}"
        assert record.video_path is None and record.meta["vocal_channel"] == "speech"


def test_exactly_five_stereo_files(records):
    stereo = set()
    for record in records:
        info = sf.info(str(record.audio_path))
        assert info.samplerate == 48000
        if info.channels == 2:
            stereo.add(record.clip_id)
    assert stereo == STEREO
