"""``cmaf predict``: a finished run's class probabilities for files it never saw in a cache."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from fixtures import make_ravdess_tree

from cmaf.cli import main
from cmaf.data.cache import prepare
from cmaf.data.dataset import CachedClips, load_manifest
from cmaf.data.registry import classes_for, scan_dataset
from cmaf.training.config import load_config
from cmaf.training.loop import train
from cmaf.training.predict import load_run, model_inputs, predict_files, preprocess_file

CLASSES = list(classes_for("ravdess"))
TAKE = "01-01-01-01-01-01"  # vocal, emotion, intensity, statement, repetition, actor (stereo)


def _train(
    profile: str, root: Path, modality: str, tmp: Path, speaker_norm: bool = False
) -> tuple[Path, Path]:
    """A one-epoch run of ``profile`` on the tree at ``root``: (run directory, cache)."""
    config = load_config(profile)
    config.data.speaker_norm = speaker_norm
    config.train.epochs = 1
    config.train.precise_bn = False  # keeps the run a few seconds; not what is tested here
    config.train.bootstrap = 10
    config.train.attention_samples = 1
    scan = scan_dataset("ravdess", root, modality=modality)
    cache = prepare(
        scan.records,
        tmp / "cache",
        config.preprocess,
        workers=0,
        progress=False,
        classes=classes_for("ravdess"),
    ).cache_dir
    run_dir = tmp / f"run-{profile}{'-speaker-norm' if speaker_norm else ''}"
    return train(config, cache, run_dir, progress=False), cache


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """20 RAVDESS takes (2 actors, 3 emotions), each as a 01- MP4 and a 03- WAV."""
    root = tmp_path_factory.mktemp("ravdess")
    make_ravdess_tree(
        root,
        actors=(1, 2),
        emotions=(1, 3, 5),
        intensities=(1, 2),
        repetitions=(1, 2),
        size=(64, 36),
        seconds=1.0,
    )
    return root


@pytest.fixture(scope="module")
def audio_run(corpus, tmp_path_factory) -> tuple[Path, Path]:
    """The audio branch alone (``speech-smoke``), trained on the WAVs."""
    return _train("speech-smoke", corpus, "audio", tmp_path_factory.mktemp("audio"))


@pytest.fixture(scope="module")
def av_run(corpus, tmp_path_factory) -> tuple[Path, Path]:
    """CMAF (``smoke``: frozen backbone, cached frame features), trained on the MP4s."""
    return _train("smoke", corpus, "av", tmp_path_factory.mktemp("av"))


@pytest.fixture(scope="module")
def recordings(corpus, tmp_path_factory) -> Path:
    """A user's folder: a WAV, a FLAC, an MP3, an MP4 and broken files."""
    folder = tmp_path_factory.mktemp("recordings")
    actor = corpus / "Actor_01"
    shutil.copy(actor / f"03-{TAKE}.wav", folder / "me.wav")  # RIFF with extra chunks
    samples, rate = sf.read(actor / f"03-{TAKE}.wav", dtype="float32")
    sf.write(folder / "me.flac", samples, rate, subtype="PCM_16")
    shutil.copy(actor / f"01-{TAKE}.mp4", folder / "me.mp4")
    from cmaf.data.media import write_av

    write_av(folder / "me.mp3", None, samples.T, sample_rate=rate, audio_codec="libmp3lame")
    rng = np.random.default_rng(0)
    (folder / "noise.wav").write_bytes(rng.integers(0, 256, 4000, dtype=np.uint8).tobytes())
    mp4 = (folder / "me.mp4").read_bytes()
    (folder / "cut.mp4").write_bytes(mp4[: len(mp4) // 3])
    (folder / "cut.wav").write_bytes((folder / "me.wav").read_bytes()[:60])
    (folder / "empty.wav").write_bytes(b"")
    return folder


def _listing(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
    }


def _cli(capfd, *argv: str) -> tuple[int, str, list[str]]:
    """Run ``cmaf predict``; (exit status, stdout, stderr lines), FFmpeg's own output included."""
    code = main(["predict", *map(str, argv)])
    out, err = capfd.readouterr()
    return code, out, err.splitlines()


def _sums_to_one(entry: dict) -> None:
    probs = entry["probabilities"]
    assert list(probs) == CLASSES
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-9)
    assert all(0.0 <= p <= 1.0 for p in probs.values())
    assert entry["predicted"] == max(probs, key=probs.get)


def test_audio_run_on_wav_flac_mp3_and_mp4(audio_run, recordings, capfd):
    run, _ = audio_run
    files = [recordings / name for name in ("me.wav", "me.flac", "me.mp3", "me.mp4")]
    code, out, err = _cli(capfd, run, *files, "--json")
    assert (code, err) == (0, [])
    result = json.loads(out)
    assert [r["file"] for r in result] == [str(f) for f in files]
    for entry in result:
        _sums_to_one(entry)
    wav, flac = (np.array(list(r["probabilities"].values())) for r in result[:2])
    np.testing.assert_allclose(wav, flac, atol=1e-6)  # the same 16-bit samples


def test_av_run_on_an_mp4_and_a_wav_it_cannot_use(av_run, recordings, capfd):
    run, _ = av_run
    code, out, err = _cli(capfd, run, recordings / "me.mp4", "--json")
    assert (code, err) == (0, [])
    (entry,) = json.loads(out)
    _sums_to_one(entry)

    code, out, err = _cli(capfd, run, recordings / "me.wav", recordings / "me.mp4", "--json")
    assert code == 1
    assert len(err) == 1 and err[0].startswith(f"cmaf predict: {recordings / 'me.wav'}: ")
    assert "needs video" in err[0]
    assert [r["file"] for r in json.loads(out)] == [str(recordings / "me.mp4")]


@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("noise.wav", "cannot read audio"),
        ("cut.wav", "cannot read audio"),
        ("cut.mp4", "cannot open media"),
        ("empty.wav", "empty file"),
        ("absent.wav", "no such file"),
    ],
)
def test_a_bad_file_gives_one_line_and_the_others_still_print(
    audio_run, recordings, capfd, name, what
):
    run, _ = audio_run
    bad = recordings / name
    code, out, err = _cli(capfd, run, recordings / "me.wav", bad, recordings / "me.flac")
    assert code == 1
    assert len(err) == 1, err
    assert err[0].startswith(f"cmaf predict: {bad}: {what}")
    assert err[0].endswith(")") and "Traceback" not in err[0]
    assert out.count("<- predicted") == 2  # both good files, in full


def test_table_lists_every_class_as_a_percentage_and_marks_the_top_one(audio_run, recordings):
    run, _ = audio_run
    (result,) = predict_files(run, [recordings / "me.wav"])
    from cmaf.training.predict import format_prediction

    lines = format_prediction(result).splitlines()
    assert lines[0] == f"{recordings / 'me.wav'}  (1.0 s, padded to 3 s)"
    assert len(lines) == 1 + len(CLASSES)
    marked = [line for line in lines[1:] if line.endswith("<- predicted")]
    assert len(marked) == 1 and marked[0].split()[0] == result.predicted
    for line, (name, p) in zip(lines[1:], result.probabilities.items(), strict=True):
        assert line.split()[:3] == [name, f"{100 * p:.1f}", "%"]


def test_a_folder_that_is_not_a_finished_run_gives_one_line_and_exit_2(
    audio_run, recordings, tmp_path, capfd
):
    wav = recordings / "me.wav"
    code, out, err = _cli(capfd, tmp_path, wav)
    assert (code, out, len(err)) == (2, "", 1)
    assert err[0].startswith(f"cmaf predict: {tmp_path}: not a finished run: no config.json")

    unfinished = tmp_path / "unfinished"
    shutil.copytree(audio_run[0], unfinished)
    (unfinished / "metrics.json").unlink()
    code, out, err = _cli(capfd, unfinished, wav)
    assert (code, out, len(err)) == (2, "", 1)
    assert "no metrics.json" in err[0] and "--resume" in err[0]

    (unfinished / "checkpoints" / "best.pt").write_bytes(b"not a checkpoint")
    shutil.copy(audio_run[0] / "metrics.json", unfinished)
    code, out, err = _cli(capfd, unfinished, wav)
    assert (code, out, len(err)) == (2, "", 1)
    assert "best.pt" in err[0]

    if not torch.cuda.is_available():
        code, _, err = _cli(capfd, audio_run[0], wav, "--device", "cuda")
        assert code == 2 and len(err) == 1 and "--device" in err[0]


def test_nothing_is_written_beside_the_inputs_or_into_the_run(audio_run, av_run, recordings, capfd):
    before = _listing(recordings), _listing(audio_run[0]), _listing(av_run[0])
    files = sorted(p for p in recordings.iterdir())
    for run in (audio_run[0], av_run[0]):
        _cli(capfd, run, *files)
        predict_files(run, files)
    assert (_listing(recordings), _listing(audio_run[0]), _listing(av_run[0])) == before


@pytest.mark.parametrize("which", ["audio", "av"])
def test_a_file_is_preprocessed_and_classified_as_the_run_saw_its_test_clips(
    which, audio_run, av_run
):
    """Same arrays as the cache, same tensors as the dataset, same probabilities as the run."""
    run_dir, cache = audio_run if which == "audio" else av_run
    run = load_run(run_dir, device="cpu")
    rows = {row["clip_id"]: row for row in load_manifest(cache)}
    with open(run_dir / "predictions.csv", newline="") as fh:
        tested = list(csv.DictReader(fh))
    clips = CachedClips(cache)
    for saved in tested[:3]:
        row = rows[saved["clip_id"]]
        source = Path(row["audio_path"] or row["video_path"])
        arrays, _ = preprocess_file(source, run)
        with np.load(cache / row["item"]) as item:
            assert sorted(arrays) == sorted(item.files)
            for name in item.files:
                np.testing.assert_array_equal(arrays[name], item[name])
        tensors = model_inputs(arrays, run.config)
        expected = clips[clips.rows.index(row)]
        for name, tensor in tensors.items():
            torch.testing.assert_close(tensor[0], expected[name], rtol=0, atol=0)
        (result,) = predict_files(run, [source])
        probs = [result.probabilities[c] for c in CLASSES]
        np.testing.assert_allclose(probs, [float(saved[f"p_{c}"]) for c in CLASSES], atol=2e-5)


def test_a_speaker_normalised_run_standardises_the_files_of_one_call_as_one_speaker(
    corpus, tmp_path, capfd
):
    """Given all of an actor's clips, predict standardises them as training did: the run's own
    test predictions come back."""
    run_dir, cache = _train("speech-smoke", corpus, "audio", tmp_path, speaker_norm=True)
    rows = {row["clip_id"]: row for row in load_manifest(cache)}
    with open(run_dir / "predictions.csv", newline="") as fh:
        tested = {row["clip_id"]: row for row in csv.DictReader(fh)}
    actor = rows[next(iter(tested))]["speaker"]
    sources = [Path(r["audio_path"]) for r in rows.values() if r["speaker"] == actor]
    results = predict_files(run_dir, sources, device="cpu")
    checked = 0
    for source, result in zip(sources, results, strict=True):
        saved = tested.get(source.stem)
        if saved is None:
            continue  # a training clip
        probs = [result.probabilities[c] for c in CLASSES]
        np.testing.assert_allclose(probs, [float(saved[f"p_{c}"]) for c in CLASSES], atol=2e-5)
        checked += 1
    assert checked >= 1
    # One file alone is standardised with its own statistics: a different input, so (almost
    # surely) other probabilities than with its speaker's clips.
    (alone,) = predict_files(run_dir, sources[:1], device="cpu")
    assert alone.probabilities != results[0].probabilities
    code, _out, err = _cli(capfd, run_dir, *sources[:2], "--json")
    assert code == 0 and not err
