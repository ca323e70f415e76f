"""``cmaf predict``: a finished run's class probabilities for your own recordings.

``cmaf predict RUN FILE... [--json]`` preprocesses each audio or video file exactly as the
cache prepares a clip for the run's ``config.preprocess`` (:func:`preprocess_file`), turns it
into tensors as :class:`cmaf.data.dataset.CachedClips` does for evaluation
(:func:`model_inputs`) and classifies it with the run's ``checkpoints/best.pt``. An audio-only
run reads WAV, FLAC, MP3 or the sound of an MP4; a video-only run the picture of an MP4; every
fused model an MP4 with both. Nothing is written. A file that cannot be used gives one line
(``FILE: what (how to fix)``) and the others are still classified.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import torch

from cmaf.data.dataset import normalize_frames
from cmaf.data.media import probe
from cmaf.data.preprocessing import check_dependencies, preprocess
from cmaf.data.records import ClipRecord, DataError
from cmaf.data.speaker_norm import fit_speaker_stats, standardize_by_speaker
from cmaf.models.baselines import build_model
from cmaf.training.checkpoint import load_checkpoint
from cmaf.training.config import ExperimentConfig
from cmaf.training.loop import bf16_autocast, forward_batch, select_device

#: The files in a run directory that ``cmaf predict`` reads, and what each is for.
RUN_FILES = {
    "config.json": "the run's settings",
    "checkpoints/best.pt": "the trained weights",
    "metrics.json": "the class names; written when training finishes",
}

_FIX_MEDIA = "is it a complete WAV, FLAC, MP3 or MP4? Re-record or re-export it"


class RunError(ValueError):
    """The run directory cannot be used; the message is one line naming what is missing."""


@dataclass(frozen=True)
class FilePrediction:
    """What the model makes of one file (class name -> probability, in the run's class order),
    or why it could not (``error``: one line, ``what (how to fix)``). ``seconds`` is the
    recording's duration (``None`` if unknown), ``window`` the seconds the model hears."""

    file: str
    probabilities: dict[str, float] = dataclasses.field(default_factory=dict)
    predicted: str | None = None
    seconds: float | None = None
    window: float | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` record: file, probabilities, predicted."""
        return {
            "file": self.file,
            "probabilities": dict(self.probabilities),
            "predicted": self.predicted,
        }


@dataclass
class TrainedRun:
    """A finished run, loaded for prediction (model in evaluation mode on ``device``)."""

    run_dir: Path
    config: ExperimentConfig
    model: torch.nn.Module
    classes: list[str]
    device: torch.device

    @property
    def reads_audio(self) -> bool:
        return hasattr(self.model, "audio_encoder")

    @property
    def reads_video(self) -> bool:
        return hasattr(self.model, "visual_encoder")


# --------------------------------------------------------------------------- the run


def _run_error(run_dir: Path, what: str, fix: str) -> RunError:
    return RunError(f"{run_dir}: {what} ({fix})")


def load_run(run_dir: str | Path, device: str = "auto") -> TrainedRun:
    """Load a finished run: its config, class names and ``best.pt`` model in evaluation mode.

    Raises :class:`RunError`, one line naming the run directory and what is missing or unusable.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise _run_error(run_dir, "no such run directory", "pass a folder made by `cmaf train`")
    missing = [name for name in RUN_FILES if not (run_dir / name).is_file()]
    if missing:
        what = ", ".join(f"{name} ({RUN_FILES[name]})" for name in missing)
        fix = (
            "pass a folder made by `cmaf train`"
            if "config.json" in missing
            else "the run did not finish: `cmaf train --resume --out RUN` completes it"
        )
        raise _run_error(run_dir, f"not a finished run: no {what}", fix)
    try:
        config = ExperimentConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
        metrics = json.loads((run_dir / "metrics.json").read_text())
    except (ValueError, TypeError, KeyError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _run_error(
            run_dir, f"unreadable config.json or metrics.json ({first})", "train the run again"
        ) from exc
    try:
        check_dependencies(config.preprocess)  # e.g. face_crop needs OpenCV, for every file
    except DataError as exc:
        raise _run_error(run_dir, "cannot preprocess as this run did", str(exc)) from exc
    classes = metrics.get("test", {}).get("class_names") if isinstance(metrics, dict) else None
    if (
        not isinstance(classes, list)
        or not all(isinstance(name, str) for name in classes)
        or len(classes) != config.model.num_classes
    ):
        raise _run_error(
            run_dir,
            f"metrics.json names no class list of model.num_classes={config.model.num_classes}",
            "evaluate the run again with `cmaf train --resume --out RUN`",
        )
    try:
        chosen = select_device(device)
    except ValueError as exc:
        raise RunError(str(exc).replace("train.device", "--device")) from exc
    # best.pt holds every weight, the backbone's too: build without ImageNet weights so a
    # `paper` run predicts without the torch hub file, which the state dict overwrites anyway.
    model_config = dataclasses.replace(
        config.model, visual=dataclasses.replace(config.model.visual, weights=None)
    )
    model = build_model(model_config)
    try:
        state = load_checkpoint(run_dir / "checkpoints" / "best.pt", map_location="cpu")
        model.load_state_dict(state["model"])
    except (ValueError, FileNotFoundError, KeyError, RuntimeError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _run_error(
            run_dir,
            f"checkpoints/best.pt does not fit config.json ({first[:200]})",
            "pass the run folder the checkpoint was trained in",
        ) from exc
    return TrainedRun(run_dir, config, model.to(chosen).eval(), classes, chosen)


# --------------------------------------------------------------------------- one file


class UnusableFile(DataError):
    """One input file cannot be classified; the message is ``what (how to fix)``."""


def _reason(exc: BaseException, path: Path) -> str:
    """The first line of a media error, without the ``PATH: `` prefix the readers put first."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    for prefix in (f"{path}: ", f"{path.name}: "):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    # The decoders' own wording names the file again: keep only what went wrong.
    text = re.sub(r"Error opening '[^']*': ", "", text)
    text = re.sub(r"\[Errno -?\d+\] ", "", text)
    text = re.sub(r": '[^']*'\)$", ")", text)
    nested = re.fullmatch(r"(.*?) \((.*)\)", text)  # "what (detail)" -> "what: detail"
    if nested:
        text = f"{nested[1]}: {nested[2].rstrip('.')}"
    return text


def preprocess_file(
    path: str | Path, run: TrainedRun
) -> tuple[dict[str, np.ndarray], float | None]:
    """The cached arrays of one file for ``run``'s preprocessing, and the file's duration.

    Reads through :func:`cmaf.data.preprocessing.preprocess`, the cache's own per-clip
    function, restricted to the modalities the model reads. Raises :class:`UnusableFile` for
    missing, unreadable or corrupt media, or when a stream the model needs is absent.
    """
    path = Path(path)
    if not path.exists():
        raise UnusableFile("no such file (check the path)")
    if path.is_dir():
        raise UnusableFile("a folder, not a file (pass the recordings in it)")
    try:
        with open(path, "rb") as fh:
            empty = not fh.read(1)
    except OSError as exc:
        raise UnusableFile(
            f"cannot be read ({exc.strerror or exc}; check its permissions)"
        ) from exc
    if empty:
        raise UnusableFile("empty file (record or copy it again)")
    try:
        info = probe(path)
    except (DataError, OSError, RuntimeError, ValueError, av.error.FFmpegError) as exc:
        raise UnusableFile(f"{_reason(exc, path)} ({_FIX_MEDIA})") from exc

    cfg = run.config.preprocess
    fusion = run.config.model.fusion
    if run.reads_video and not info.has_video:
        raise UnusableFile(
            f"no video stream, and this run's model (fusion {fusion!r}) needs video (give it an "
            "MP4 with picture and sound, or use a run trained with --fusion audio)"
        )
    if run.reads_audio and not info.has_audio:
        raise UnusableFile(
            f"no audio stream, and this run's model (fusion {fusion!r}) needs audio (give it a "
            "recording with sound, or use a run trained with --fusion video)"
        )
    if not run.reads_video:
        modality = "audio"
    elif not run.reads_audio and (cfg.modality == "video" or not info.has_audio):
        # A video-only model; without sound the window is centred on the video's own duration.
        modality = "video"
    else:
        modality = cfg.modality  # "av": the audio's duration places the frames' window
    cfg = dataclasses.replace(cfg, modality=modality)
    record = ClipRecord(
        dataset="predict",
        clip_id=path.stem,
        label="",
        speaker="",
        group="",
        audio_path=path if cfg.uses_audio else None,
        video_path=path if cfg.uses_video else None,
    )
    try:
        arrays = preprocess(record, cfg)
    except (DataError, OSError, RuntimeError, ValueError, av.error.FFmpegError) as exc:
        raise UnusableFile(f"{_reason(exc, path)} ({_FIX_MEDIA})") from exc
    return arrays, info.duration


def model_inputs(arrays: dict[str, np.ndarray], config: Any) -> dict[str, torch.Tensor]:
    """Cached arrays of one clip -> the model's input tensors, batch of one.

    ``mel`` ``(1, 1, n_mels, mel_frames)`` and ImageNet-normalised ``frames`` ``(1, T, 3, S, S)``,
    as :class:`cmaf.data.dataset.CachedClips` gives them for evaluation (per-speaker
    standardisation needs several files and happens before, in :func:`predict_files`).
    """
    out: dict[str, torch.Tensor] = {}
    if "mel" in arrays:
        out["mel"] = torch.from_numpy(arrays["mel"].astype(np.float32, copy=False))[None, None]
    if "frames" in arrays:
        out["frames"] = normalize_frames(arrays["frames"])[None]
    return out


def predict_file(
    run: TrainedRun, path: str | Path, prepared: tuple[dict, float | None] | None = None
) -> FilePrediction:
    """Classify one file; an unusable file comes back with ``error`` set, never raised.

    ``prepared``: the file's :func:`preprocess_file` result, when already computed (and
    standardised per speaker).
    """
    window = float(run.config.preprocess.clip_seconds)
    try:
        arrays, seconds = prepared if prepared is not None else preprocess_file(path, run)
    except UnusableFile as exc:
        return FilePrediction(file=str(path), window=window, error=str(exc))
    with torch.no_grad(), bf16_autocast(run.device, run.config.train.bf16):  # as the run's test
        logits = forward_batch(run.model, model_inputs(arrays, run.config), run.device).logits
    probs = torch.softmax(logits.double(), dim=1).cpu().numpy()[0]
    return FilePrediction(
        file=str(path),
        probabilities={name: float(p) for name, p in zip(run.classes, probs, strict=True)},
        predicted=run.classes[int(np.argmax(probs))],
        seconds=seconds,
        window=window,
    )


def predict_files(
    run_dir: str | Path | TrainedRun, paths: list[str | Path], *, device: str = "auto"
) -> list[FilePrediction]:
    """Class probabilities of each file under a finished run's ``best.pt`` (in input order).

    ``run_dir`` is a run directory made by ``cmaf train`` (or a loaded :class:`TrainedRun`);
    ``device`` is ``auto``, ``cpu`` or ``cuda``. A file that cannot be used comes back with
    ``error`` set; an unusable run raises :class:`RunError`. For a run trained with
    per-speaker normalisation (``data.speaker_norm``) the files of one call are taken as one
    speaker's recordings and standardised with their joint statistics
    (:mod:`cmaf.data.speaker_norm`); a single file, with its own.
    """
    run = run_dir if isinstance(run_dir, TrainedRun) else load_run(run_dir, device)
    if not (run.config.data.speaker_norm and run.reads_audio):
        return [predict_file(run, path) for path in paths]
    prepared: dict[int, tuple[dict, float | None]] = {}
    for index, path in enumerate(paths):
        try:
            prepared[index] = preprocess_file(path, run)
        except UnusableFile:
            continue  # predict_file reports it
    if prepared:
        mels = np.stack([arrays["mel"] for arrays, _ in prepared.values()])
        voice = ["speaker"] * len(mels)
        scaled = standardize_by_speaker(mels, voice, fit_speaker_stats(mels, voice))
        for (arrays, _), mel in zip(prepared.values(), scaled, strict=True):
            arrays["mel"] = mel
    return [predict_file(run, path, prepared.get(index)) for index, path in enumerate(paths)]


# --------------------------------------------------------------------------- output


def format_prediction(result: FilePrediction) -> str:
    """One file's table: a heading, then each class with its probability (top class marked)."""
    if not result.ok:
        return f"{result.file}: {result.error}"
    heading = result.file
    if result.seconds is not None and result.window is not None:
        if result.seconds > result.window + 0.05:
            heading += f"  ({result.seconds:.1f} s; the model hears the middle {result.window:g} s)"
        elif result.seconds < result.window - 0.05:
            heading += f"  ({result.seconds:.1f} s, padded to {result.window:g} s)"
        else:
            heading += f"  ({result.seconds:.1f} s)"
    width = max(len(name) for name in result.probabilities)
    lines = [heading]
    for name, p in result.probabilities.items():
        mark = "  <- predicted" if name == result.predicted else ""
        lines.append(f"  {name:<{width}}  {100 * p:5.1f} %{mark}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- command line


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``predict`` sub-command."""
    parser = subparsers.add_parser(
        "predict",
        help="class probabilities of your own recordings under a finished run",
        description="Classify audio or video files (WAV, FLAC, MP3, MP4) with a finished run's "
        "best checkpoint, preprocessed as that run's cache was, and print each file's class "
        "probabilities. Writes nothing. A file that cannot be used gives one line and exit "
        "status 1; an unusable run directory, exit status 2.",
    )
    parser.add_argument("run", help="run directory (made by `cmaf train`)")
    parser.add_argument("files", nargs="+", help="audio or video files")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead")
    parser.add_argument(
        "--device", default="auto", help="auto (CUDA when present, else CPU), cpu or cuda"
    )
    parser.set_defaults(func=_predict)


def _predict(args: argparse.Namespace) -> int:
    try:
        run = load_run(args.run, args.device)
    except RunError as exc:
        print(f"cmaf predict: {exc}", file=sys.stderr)
        return 2
    results = []
    if run.config.data.speaker_norm and run.reads_audio and not args.json:
        print(
            f"per-speaker normalisation: the {len(args.files)} file(s) are taken as one speaker's",
            file=sys.stderr,
        )
    for result in predict_files(run, list(args.files)):
        if result.ok:
            if not args.json:
                print(("\n" if results else "") + format_prediction(result), flush=True)
            results.append(result)
        else:
            print(f"cmaf predict: {result.file}: {result.error}", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
    return 0 if len(results) == len(args.files) else 1
