"""Dataset loaders on small format-faithful fixtures (tests/fixtures.py)."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from collections import Counter
from pathlib import Path

import av
import fixtures
import numpy as np
import pytest
import soundfile as sf

from cmaf.data import crema_d, iemocap, ravdess
from cmaf.data.media import probe, read_audio, read_video_frames
from cmaf.data.records import DataError
from cmaf.data.registry import DATASETS, classes_for, scan_dataset


def one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message and message
    return message


# ---------------------------------------------------------------------------------------------
# RAVDESS
# ---------------------------------------------------------------------------------------------


#: Clip length of the shared RAVDESS fixture (short: 720p H.264 is the slowest thing built here).
RAVDESS_SECONDS = 0.5


@pytest.fixture(scope="module")
def ravdess_root(tmp_path_factory) -> Path:
    """Two actors x 5 takes: 01- mp4 (720p H.264 + AAC), 02- mp4 and 03- wav of every take."""
    root = tmp_path_factory.mktemp("ravdess")
    fixtures.make_ravdess_tree(root, with_video_only=True, stereo=2, seconds=RAVDESS_SECONDS)
    return root


def test_ravdess_fixture_is_format_faithful(ravdess_root):
    info = probe(ravdess_root / "Actor_01" / "01-01-03-02-01-01-01.mp4")
    assert (info.width, info.height, info.video_codec) == (1280, 720, "h264")
    assert info.fps == pytest.approx(29.97, abs=0.01)
    assert (info.audio_codec, info.sample_rate) == ("aac", 48000)
    assert not probe(ravdess_root / "Actor_01" / "02-01-03-02-01-01-01.mp4").has_audio


def test_ravdess_av_keeps_one_file_per_take(ravdess_root):
    result = ravdess.scan(ravdess_root)
    assert result.problems == []
    records = result.records
    assert len(records) == 10  # 2 actors x (neutral + happy x2 + angry x2); 02-/03- ignored
    assert all(r.clip_id.startswith("01-") for r in records)
    assert all(r.audio_path == r.video_path and r.audio_path.suffix == ".mp4" for r in records)
    assert len({r.meta["take"] for r in records}) == len(records)
    assert Counter(r.label for r in records) == {"neutral": 2, "happy": 4, "angry": 4}
    assert {r.speaker for r in records} == {"ravdess-01", "ravdess-02"}
    first = records[0]
    assert first.group == first.speaker == "ravdess-01"
    assert first.meta["sex"] == "male" and first.meta["actor"] == "01"
    assert first.meta["vocal_channel"] == "speech" and first.meta["modality"] == "av"
    female = next(r for r in records if r.speaker == "ravdess-02")
    assert female.meta["sex"] == "female"


def test_ravdess_take_key_matches_across_modalities(ravdess_root):
    av_takes = {r.meta["take"] for r in ravdess.scan(ravdess_root).records}
    audio_takes = {r.meta["take"] for r in ravdess.scan(ravdess_root, modality="audio").records}
    assert av_takes == audio_takes


def test_ravdess_spec_reads_the_scanned_meta(ravdess_root):
    """The spec's sex and twin key agree with what scan writes, for records from a manifest too."""
    for rec in ravdess.scan(ravdess_root).records:
        assert ravdess.sex_of(rec) == rec.meta["sex"][0].upper()
        assert ravdess.twin_key(rec) == rec.meta["prompt"]
        # An id that is not a file stem: the key comes from meta, with or without "prompt".
        renamed = dataclasses.replace(rec, clip_id=f"clip-{rec.clip_id}")
        assert ravdess.twin_key(renamed) == rec.meta["prompt"]
        meta = {k: v for k, v in rec.meta.items() if k != "prompt"}
        assert ravdess.twin_key(dataclasses.replace(renamed, meta=meta)) == rec.meta["prompt"]


def test_ravdess_audio_uses_wav_with_extra_chunks_and_stereo(ravdess_root):
    result = ravdess.scan(ravdess_root, modality="audio")
    assert result.problems == []
    assert len(result.records) == 10
    assert all(r.audio_path.suffix == ".wav" and r.video_path is None for r in result.records)
    assert all(r.clip_id.startswith("03-") for r in result.records)
    channels = Counter(sf.info(str(r.audio_path)).channels for r in result.records)
    assert channels == {1: 8, 2: 2}
    stereo = next(r.audio_path for r in result.records if sf.info(str(r.audio_path)).channels == 2)
    raw = stereo.read_bytes()
    assert raw.index(b"bext") < raw.index(b"fmt ") < raw.index(b"data") < raw.index(b"LIST")
    samples, rate = read_audio(stereo)
    assert rate == 48000 and samples.shape == (2, round(RAVDESS_SECONDS * 48000))
    assert np.abs(samples).max() > 0.1


def test_ravdess_audio_from_flac(tmp_path):
    fixtures.make_ravdess_tree(
        tmp_path, actors=(3,), emotions=(2,), with_av=False, audio_format="flac"
    )
    result = ravdess.scan(tmp_path, modality="audio")
    assert [r.audio_path.suffix for r in result.records] == [".flac", ".flac"]
    assert {r.label for r in result.records} == {"calm"}
    samples, rate = read_audio(result.records[0].audio_path)
    assert rate == 48000 and samples.shape[1] == 48000


def test_ravdess_audio_falls_back_to_mp4_track(tmp_path):
    fixtures.make_ravdess_tree(
        tmp_path, actors=(4,), emotions=(8,), intensities=(1,), with_audio_only=False, seconds=0.5
    )
    [record] = ravdess.scan(tmp_path, modality="audio").records
    assert record.audio_path.suffix == ".mp4" and record.video_path is None
    assert record.label == "surprised"
    samples, rate = read_audio(record.audio_path)
    assert rate == 48000 and samples.shape[1] > 20000


def test_ravdess_mp4_video_decodes_resized(ravdess_root):
    record = ravdess.scan(ravdess_root).records[0]
    frames, times = read_video_frames(record.video_path, size=(224, 224))
    assert frames.shape[1:] == (224, 224, 3)
    assert abs(frames.shape[0] - RAVDESS_SECONDS * 30000 / 1001) <= 1
    assert np.all(np.diff(times) > 0)


@pytest.fixture()
def ravdess_audio_root(tmp_path) -> Path:
    fixtures.make_ravdess_tree(
        tmp_path, actors=(1, 2), emotions=(3,), intensities=(1,), with_av=False, seconds=0.2
    )
    return tmp_path


def test_ravdess_malformed_names_become_problems(ravdess_audio_root):
    good = ravdess_audio_root / "Actor_01" / "03-01-03-01-01-01-01.wav"
    bad = {
        "03-01-09-01-01-01-01.wav": "emotion",
        "03-01-01-02-01-01-01.wav": "neutral",
        "holiday.wav": "not a RAVDESS name",
        "03-01-03-01-01-01.wav": "not a RAVDESS name",
    }
    for name in bad:
        shutil.copy(good, good.parent / name)
    result = ravdess.scan(ravdess_audio_root, modality="audio")
    assert [r.clip_id for r in result.records] == [
        "03-01-03-01-01-01-01",
        "03-01-03-01-01-01-02",
    ]
    reasons = {p.path.name: p.reason for p in result.problems}
    assert set(reasons) == set(bad)
    for name, word in bad.items():
        assert word in reasons[name]


def test_ravdess_actor_must_match_folder(ravdess_audio_root):
    good = ravdess_audio_root / "Actor_01" / "03-01-03-01-01-01-01.wav"
    shutil.copy(good, good.parent / "03-01-03-01-02-01-02.wav")
    result = ravdess.scan(ravdess_audio_root, modality="audio")
    assert len(result.records) == 2
    [problem] = result.problems
    assert "Actor_01" in problem.reason and "02" in problem.reason


def test_ravdess_empty_and_duplicate_files(ravdess_audio_root):
    folder = ravdess_audio_root / "Actor_02"
    (folder / "03-01-05-01-01-01-02.wav").write_bytes(b"")
    shutil.copy(folder / "03-01-03-01-01-01-02.wav", folder / "03-01-03-01-01-01-02.flac")
    result = ravdess.scan(ravdess_audio_root, modality="audio")
    assert len(result.records) == 2
    reasons = sorted(p.reason for p in result.problems)
    assert reasons[0].startswith("duplicate") and reasons[1].startswith("empty")


def test_ravdess_vocal_channel_filter(tmp_path):
    fixtures.make_ravdess_tree(
        tmp_path,
        actors=(5,),
        emotions=(2,),
        intensities=(1,),
        vocal_channels=(1, 2),
        with_av=False,
        seconds=0.2,
    )
    speech = ravdess.scan(tmp_path, modality="audio").records
    song = ravdess.scan(tmp_path, modality="audio", vocal_channel="song").records
    both = ravdess.scan(tmp_path, modality="audio", vocal_channel="all").records
    assert [r.meta["vocal_channel"] for r in speech] == ["speech"]
    assert [r.meta["vocal_channel"] for r in song] == ["song"]
    assert len(both) == 2


def test_ravdess_parse_name():
    fields = ravdess.parse_name("01-01-06-02-02-01-17")
    assert fields["label"] == "fearful" and fields["intensity"] == "strong"
    assert fields["statement"] == "02" and fields["repetition"] == "1"
    assert fields["actor"] == "17" and fields["sex"] == "male"
    assert fields["take"] == ravdess.parse_name("03-01-06-02-02-01-17")["take"]
    assert fields["prompt"] == ravdess.parse_name("01-01-06-02-02-02-17")["prompt"]
    malformed = (
        "01-01-06-02-02-01",  # six fields
        "04-01-06-02-02-01-17",  # modality 04
        "01-01-00-01-01-01-01",  # emotion 00
        "01-01-01-02-01-01-01",  # strong neutral
        "01-01-03-01-01-01-25",  # actor 25
        "01-03-03-01-01-01-01",  # vocal channel 03
    )
    for stem in malformed:
        with pytest.raises(DataError) as exc:
            ravdess.parse_name(stem)
        assert stem in one_line(exc)


# ---------------------------------------------------------------------------------------------
# Bad roots, registry
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", DATASETS)
def test_missing_and_empty_roots_are_one_line_errors(name, tmp_path):
    with pytest.raises(DataError) as exc:
        scan_dataset(name, tmp_path / "nowhere")
    assert "nowhere" in one_line(exc) and "does not exist" in str(exc.value)
    with pytest.raises(DataError) as exc:
        scan_dataset(name, tmp_path)
    assert str(tmp_path) in one_line(exc)
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(DataError) as exc:
        scan_dataset(name, tmp_path / "file.txt")
    one_line(exc)


def test_unknown_dataset_and_option(tmp_path):
    with pytest.raises(DataError) as exc:
        scan_dataset("affectnet", tmp_path)
    assert all(name in one_line(exc) for name in DATASETS)
    with pytest.raises(DataError) as exc:
        classes_for("msp-podcast")
    one_line(exc)
    with pytest.raises(DataError) as exc:
        scan_dataset("ravdess", tmp_path, modalty="av")
    assert "modalty" in one_line(exc)
    with pytest.raises(DataError):
        scan_dataset("ravdess", tmp_path, modality="text")


def test_classes_for():
    assert classes_for("ravdess") == ravdess.CLASSES and len(ravdess.CLASSES) == 8
    assert classes_for("crema-d", labels="voice") == crema_d.CLASSES
    assert classes_for("iemocap") == iemocap.CLASSES == classes_for("iemocap", classes="paper8")
    assert classes_for("iemocap", classes="four") == ("neutral", "happy", "sad", "angry")
    with pytest.raises(DataError, match="five"):
        classes_for("iemocap", classes="five")
    with pytest.raises(DataError, match="classes"):  # not an option of RAVDESS's scan
        classes_for("ravdess", classes="four")


# ---------------------------------------------------------------------------------------------
# CREMA-D
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crema_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("crema-d")
    fixtures.make_crema_d_tree(root)  # 2 actors x DFA x 6 emotions
    return root


def test_crema_d_flv_has_data_stream_first_and_decodes(crema_root):
    flv = crema_root / "VideoFlash" / "1001_DFA_ANG_XX.flv"
    with av.open(str(flv)) as container:
        assert [s.type for s in container.streams] == ["data", "video", "audio"]
    info = probe(flv)
    assert info.has_audio and info.has_video
    assert (info.width, info.height, info.sample_rate, info.channels) == (480, 360, 44100, 1)
    assert info.audio_codec.startswith("mp3")
    samples, rate = read_audio(flv)
    assert rate == 44100 and samples.shape[0] == 1 and samples.shape[1] > 20000
    frames, _times = read_video_frames(flv)
    assert frames.shape[1:] == (360, 480, 3) and frames.shape[0] >= 15
    wav = probe(crema_root / "AudioWAV" / "1001_DFA_ANG_XX.wav")
    assert (wav.sample_rate, wav.channels) == (16000, 1)


def test_crema_d_av_scan(crema_root):
    result = scan_dataset("crema-d", crema_root)
    assert result.problems == []
    records = result.records
    assert len(records) == 12
    assert Counter(r.label for r in records) == dict.fromkeys(crema_d.CLASSES, 2)
    first = records[0]
    assert first.clip_id == "1001_DFA_ANG_XX" and first.label == "angry"
    assert first.speaker == first.group == "crema-d-1001"
    assert first.audio_path.suffix == ".wav" and first.video_path.suffix == ".flv"
    assert first.meta["sex"] == "male" and first.meta["sentence"] == "DFA"
    assert first.meta["level"] == "unspecified"
    assert records[-1].meta["sex"] == "female"


def test_crema_d_perceived_labels(crema_root):
    face = crema_d.scan(crema_root, labels="face")
    assert [r.label for r in face.records] == [r.meta["acted"] for r in face.records]
    voice = crema_d.scan(crema_root, labels="voice")
    # Rows 3, 6, 9, 12 are ties (skipped as Problems), row 10 is voted neutral.
    assert len(voice.records) == 8 and len(voice.problems) == 4
    assert all("tie" in p.reason for p in voice.problems)
    relabelled = {r.clip_id: r.label for r in voice.records if r.label != r.meta["acted"]}
    assert relabelled == {"1002_DFA_HAP_XX": "neutral"}
    first = crema_d.scan(crema_root, labels="voice", ties="first")
    assert len(first.records) == 12 and first.problems == []
    tie = next(r for r in first.records if r.clip_id == "1001_DFA_FEA_XX")
    assert tie.meta["vote"] == "F:H" and tie.label == "fearful"


def test_crema_d_vote_header_is_strict(tmp_path, crema_root):
    root = tmp_path / "c"
    shutil.copytree(crema_root, root)
    (root / "processedResults" / "tabulatedVotes.csv").write_text("fileName,vote\nx,A\n")
    with pytest.raises(DataError) as exc:
        crema_d.scan(root, labels="voice")
    assert "fileName" in one_line(exc) and "vote" in str(exc.value)
    (root / crema_d.DEMOGRAPHICS).write_text("Actor,Years\n1001,30\n")
    with pytest.raises(DataError) as exc:
        crema_d.scan(root)
    assert "Years" in one_line(exc)
    shutil.rmtree(root / "processedResults")
    (root / crema_d.DEMOGRAPHICS).unlink()
    with pytest.raises(DataError) as exc:
        crema_d.scan(root, labels="multimodal")
    assert "tabulatedVotes" in one_line(exc)
    assert "sex" not in crema_d.scan(root).records[0].meta  # demographics optional


def test_crema_d_missing_counterpart_and_bad_names(tmp_path, crema_root):
    root = tmp_path / "c"
    shutil.copytree(crema_root, root)
    (root / "VideoFlash" / "1002_DFA_SAD_XX.flv").unlink()
    shutil.copy(
        root / "AudioWAV" / "1001_DFA_ANG_XX.wav", root / "AudioWAV" / "1001_XYZ_ANG_XX.wav"
    )
    shutil.copy(
        root / "AudioWAV" / "1001_DFA_ANG_XX.wav", root / "AudioWAV" / "0999_DFA_ANG_XX.wav"
    )
    (root / "AudioWAV" / "1002_DFA_NEU_XX.wav").write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 1\n"
    )
    result = crema_d.scan(root)
    reasons = {p.path.name: p.reason for p in result.problems}
    assert "VideoFlash" in reasons["1002_DFA_SAD_XX.wav"]
    assert "sentence" in reasons["1001_XYZ_ANG_XX.wav"]
    assert "actor" in reasons["0999_DFA_ANG_XX.wav"]
    assert "git lfs pull" in reasons["1002_DFA_NEU_XX.wav"]
    assert "1002_DFA_NEU_XX.flv" in reasons  # its wav is unusable, so av mode skips the clip
    assert len(result.records) == 10
    audio = crema_d.scan(root, modality="audio")
    assert len(audio.records) == 11 and all(r.video_path is None for r in audio.records)
    video = crema_d.scan(root, modality="video")
    assert len(video.records) == 11 and all(r.audio_path is None for r in video.records)


def test_crema_d_parse_name():
    assert crema_d.parse_name("1091_IEO_HAP_HI") == {
        "actor": "1091",
        "sentence": "IEO",
        "emotion": "HAP",
        "label": "happy",
        "level": "high",
    }
    for stem in ("1092_IEO_HAP_HI", "1001_IEO_SUR_HI", "1001_IEO_HAP_VH", "1001-IEO-HAP-HI"):
        with pytest.raises(DataError):
            crema_d.parse_name(stem)


# ---------------------------------------------------------------------------------------------
# IEMOCAP
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def iemocap_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("iemocap")
    fixtures.make_iemocap_tree(root)
    return root


def test_iemocap_paper8(iemocap_root):
    result = scan_dataset("iemocap", iemocap_root)
    assert result.problems == []
    records = result.records
    # 11 utterances: xxx, dis and oth are outside paper8.
    assert sorted(r.meta["code"] for r in records) == sorted(
        ["neu", "ang", "hap", "exc", "fru", "sad", "sur", "fea"]
    )
    assert {r.label for r in records} == set(iemocap.CLASSES)
    first = records[0]
    assert first.clip_id == "Ses01F_impro01_F000" and first.label == "neutral"
    assert (first.start, first.end) == (0.2, 0.5)
    assert first.speaker == "iemocap-Ses01F" and first.group == "iemocap-Session1"
    assert first.audio_path.name == "Ses01F_impro01.wav"  # dialog audio, cut like the video
    assert first.video_path.name == "Ses01F_impro01.avi"
    assert first.meta["valence"] == "3.0000" and first.meta["audio_segment"] == "segment"
    male = next(r for r in records if r.clip_id == "Ses01F_impro01_M000")
    assert male.label == "angry" and male.speaker == "iemocap-Ses01M"
    assert male.start == pytest.approx(0.6) and male.end == pytest.approx(0.9)
    assert {r.speaker for r in records} == {"iemocap-Ses01F", "iemocap-Ses01M"}
    samples, rate = read_audio(first.audio_path, first.start, first.end)
    assert rate == 16000 and samples.shape[1] == pytest.approx(0.3 * 16000, abs=2)
    sentence = iemocap.scan(iemocap_root, audio_source="sentence").records[0]
    assert sentence.audio_path.name == "Ses01F_impro01_F000.wav"
    assert sentence.meta["audio_segment"] == "whole"
    samples, rate = read_audio(sentence.audio_path)
    assert rate == 16000 and samples.shape[1] == round(0.3 * 16000)


def test_iemocap_four_classes_merge_excited(iemocap_root):
    records = iemocap.scan(iemocap_root, classes="four").records
    assert Counter(r.label for r in records) == {"neutral": 1, "happy": 2, "sad": 1, "angry": 1}
    assert {r.meta["code"] for r in records if r.label == "happy"} == {"hap", "exc"}
    everything = iemocap.scan(iemocap_root, classes="all").records
    assert len(everything) == 10  # all but xxx
    assert iemocap.label_counts(iemocap_root)["xxx"] == 1


def test_iemocap_side_crop(iemocap_root):
    records = iemocap.scan(iemocap_root).records
    female = next(r for r in records if r.speaker.endswith("F"))
    male = next(r for r in records if r.speaker.endswith("M"))
    assert female.meta["video_side"] == "left" and female.meta["crop"] == "0,0,0.5,1"
    assert male.meta["video_side"] == "right" and male.meta["crop"] == "0.5,0,1,1"
    left, _ = read_video_frames(
        female.video_path,
        start=female.start,
        end=female.end,
        crop=iemocap.parse_crop(female.meta["crop"]),
    )
    right, times = read_video_frames(
        male.video_path, start=male.start, end=male.end, crop=iemocap.parse_crop(male.meta["crop"])
    )
    assert left.shape[1:] == right.shape[1:] == (480, 360, 3)
    assert 8 <= len(times) <= 10 and times[0] >= male.start - 0.04
    red_left, blue_left = left[..., 0].mean(), left[..., 2].mean()
    red_right, blue_right = right[..., 0].mean(), right[..., 2].mean()
    assert red_left > blue_left + 50 and blue_right > red_right + 50
    swapped = iemocap.scan(iemocap_root, side_of={"F": "right", "M": "full"}).records
    assert {(r.meta["sex"], r.meta["crop"]) for r in swapped} == {
        ("female", "0.5,0,1,1"),
        ("male", ""),
    }
    assert iemocap.parse_crop("") is None
    with pytest.raises(DataError):
        iemocap.scan(iemocap_root, side_of={"F": "top", "M": "left"})


def test_iemocap_missing_files(tmp_path, iemocap_root):
    root = tmp_path / "i"
    shutil.copytree(iemocap_root, root)
    wav = root / "Session1" / "sentences" / "wav" / "Ses01F_impro01" / "Ses01F_impro01_F001.wav"
    wav.unlink()
    assert len(iemocap.scan(root).records) == 8  # the dialog wav serves by default
    result = iemocap.scan(root, audio_source="sentence")
    assert len(result.records) == 7
    [problem] = result.problems
    assert problem.path == wav and "F001" in problem.reason
    shutil.rmtree(root / "Session1" / "dialog" / "avi")
    assert len(iemocap.scan(root, modality="audio").records) == 8
    assert len(iemocap.scan(root, modality="audio", audio_source="sentence").records) == 7
    av = iemocap.scan(root)
    assert av.records == [] and len(av.problems) == 8
    assert all(p.path.suffix == ".avi" for p in av.problems)
    (root / "Session1" / "dialog" / "wav" / "Ses01F_impro01.wav").unlink()
    assert iemocap.scan(root, modality="audio").records == []


def test_iemocap_evaluation_lines(tmp_path):
    txt = tmp_path / "e.txt"
    txt.write_text(
        "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"
        "[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]\n"
        "C-E2:\tNeutral;\t()\nA-E3:\tval 3; act 2; dom  2;\t()\n\n"
        "[10.0100 - 11.3925]\tSes01F_impro01_M001\txxx\t[2.0000, 3.5000, 3.5000]\n"
    )
    rows = iemocap.parse_evaluation(txt)
    assert [(r["utterance"], r["code"], r["start"], r["end"]) for r in rows] == [
        ("Ses01F_impro01_F000", "neu", 6.2901, 8.2357),
        ("Ses01F_impro01_M001", "xxx", 10.01, 11.3925),
    ]
    txt.write_text("[6.2901 - 8.2357] garbage\n")
    with pytest.raises(DataError):
        iemocap.parse_evaluation(txt)


# ---------------------------------------------------------------------------------------------
# Fixture builders
# ---------------------------------------------------------------------------------------------


def _digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_fixtures_are_deterministic_for_a_seed(tmp_path):
    def build(name: str, seed: int) -> dict[str, str]:
        root = tmp_path / name
        fixtures.make_ravdess_tree(
            root / "r", actors=(6,), emotions=(4,), intensities=(1,), seconds=0.3, seed=seed
        )
        fixtures.make_crema_d_tree(root / "c", actors=(1003,), emotions=("SAD",), seed=seed)
        return _digests(root)

    first, again, other = build("a", 0), build("b", 0), build("c", 1)
    assert first == again and len(first) == 6
    assert first != other
