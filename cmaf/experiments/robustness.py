"""Test-time robustness sweeps: does CMAF's attention down-weight an unreliable modality?

The paper claims (Section 2.2, Discussion) that cross-modal attention lets the model rely on the
cleaner modality when the other is degraded. A sweep corrupts the *test* clips of trained runs
in controlled steps (the :data:`KINDS` of :class:`Condition`: noise at an SNR, an occluded half
face, a missing modality, an audio-video offset) and records accuracy and macro-F1 per model
and condition, and for models with cross-attention each stream's share of the other modality.

:class:`~cmaf.models.attention.CrossModalAttention` returns ``LayerNorm(query + attended)``.
Softmax weights sum to one over the context's steps, so attention cannot lower a modality's
total weight, only the size of what it adds: the share of the other modality in a stream is
``|attended| / (|query| + |attended|)`` (norms per step, averaged over steps and clips). If
attention down-weights an unreliable modality, its share in the clean stream falls as the
corruption grows.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy.stats import binomtest
from tqdm import tqdm

from cmaf.data.augment import add_noise_mel
from cmaf.data.cache import read_item
from cmaf.data.dataset import _standardize, load_manifest, mel_speaker_stats, resolve_cache_dir
from cmaf.data.preprocessing import _mel_transform
from cmaf.data.speaker_norm import standardize_by_speaker
from cmaf.data.splits import Split
from cmaf.evaluation.metrics import classification_report
from cmaf.models.baselines import build_model
from cmaf.training.checkpoint import atomic_write_text, load_checkpoint
from cmaf.training.config import ExperimentConfig
from cmaf.training.loop import _backbone_key, class_names, select_device

#: Corruption kinds, the name of their level and whether a larger level is a *weaker*
#: corruption (SNR) rather than a stronger one.
KINDS: dict[str, tuple[str, bool]] = {
    "clean": ("", False),
    "white-noise": ("SNR (dB)", True),
    "speech-noise": ("SNR (dB)", True),
    "occlude-upper": ("share of the upper face hidden", False),
    "occlude-lower": ("share of the lower face hidden", False),
    "missing-audio": ("", False),
    "missing-video": ("", False),
    "offset": ("video lag (frames)", False),
}
AUDIO_KINDS = ("white-noise", "speech-noise", "missing-audio")
VISUAL_KINDS = ("occlude-upper", "occlude-lower", "missing-video")
STREAM_SHARES = {
    # attribute of the model -> column: the other modality's share in this stream
    "audio_attends_visual": "visual_share_in_audio",
    "visual_attends_audio": "audio_share_in_visual",
}
COUNT_COLUMNS = ("label_counts", "correct_counts", "predicted_counts")
#: Per test clip, in the run's test order: 1 where the prediction is right. Pairs the clips
#: between two levels of a corruption for :func:`monotonicity`'s sign test.
CLIP_COLUMNS = ("correct",)
JOINED_COLUMNS = (*COUNT_COLUMNS, *CLIP_COLUMNS)  # tuples in memory, "|"-joined in the CSV
COLUMNS = (
    "model",
    "run",
    "kind",
    "level",
    "strength",
    "clips",
    "accuracy",
    "macro_f1",
    *STREAM_SHARES.values(),
    # per class, in class-index order, "|"-joined: test clips, correct predictions, predictions
    *COUNT_COLUMNS,
    *CLIP_COLUMNS,
)


@dataclass(frozen=True)
class Condition:
    """One test-time corruption: a kind from :data:`KINDS` and its level."""

    kind: str
    level: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown corruption {self.kind!r}; use one of {', '.join(KINDS)}")

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.level:g}"

    @property
    def strength(self) -> float:
        """A number that grows with the damage: ``-SNR`` for noise, ``|lag|`` for offsets."""
        if self.kind in ("white-noise", "speech-noise"):
            return -self.level
        if self.kind == "offset":
            return abs(self.level)
        return self.level

    def visual_key(self) -> str:
        """The condition of the frames a backbone sees (offsets shift its output instead)."""
        return self.key if self.kind in VISUAL_KINDS else "clean:0"


@dataclass(frozen=True)
class FaceBox:
    """Where the face sits, as fractions of the frame height (top, bottom) and width.

    The default fits the synthetic corpus's centred close-up in the ``cpu`` profile's frames;
    ``middle`` splits the upper face (brows, eyes) from the lower (nose, mouth, jaw). Other
    framings (RAVDESS's wider shot, a face crop) need their own box.
    """

    top: float = 0.3
    bottom: float = 0.92
    left: float = 0.2
    right: float = 0.8
    middle: float = 0.5

    def rows_cols(self, level: float, half: str, height: int, width: int):
        """Pixel rows and columns of the patch hiding ``level`` of the ``half`` face, grown
        from that half's outer edge towards the middle."""
        if half == "upper":
            y0, y1 = self.top, self.top + level * (self.middle - self.top)
        else:
            y0, y1 = self.bottom - level * (self.bottom - self.middle), self.bottom
        rows = slice(round(y0 * height), round(y1 * height))
        cols = slice(round(self.left * width), round(self.right * width))
        return rows, cols


@dataclass(frozen=True)
class SweepConfig:
    """The corruption steps of a sweep (defaults: the book's).

    ``keep_level`` scales every noisy clip back to its clean mean power, so that the SNR is the
    only thing a noise step changes: noise added at a clip's own level also makes it louder,
    and loudness is an arousal cue (Section 2.2), so a model may answer a noisier clip with a
    loud emotion. ``False`` gives that loudness-raising mixture
    (``benchmarks/noise_level.py`` measures both).
    """

    snr_db: tuple[float, ...] = (20.0, 10.0, 5.0, 0.0, -5.0, -10.0)
    noise_kinds: tuple[str, ...] = ("white-noise", "speech-noise")
    keep_level: bool = True
    occlusion: tuple[float, ...] = (1 / 3, 2 / 3, 1.0)
    offsets: tuple[int, ...] = (-4, -2, -1, 1, 2, 4)
    missing: bool = True
    face: FaceBox = field(default_factory=FaceBox)
    batch_size: int = 16

    @classmethod
    def noise_only(cls, keep_level: bool = True) -> SweepConfig:
        """The book's noise steps and nothing else (the audio diagnostics' sweep)."""
        return cls(occlusion=(), offsets=(), missing=False, keep_level=keep_level)

    def conditions(self) -> list[Condition]:
        out = [Condition("clean")]
        out += [Condition(kind, snr) for kind in self.noise_kinds for snr in self.snr_db]
        for kind in ("occlude-upper", "occlude-lower"):
            out += [Condition(kind, level) for level in self.occlusion]
        if self.missing:
            out += [Condition("missing-audio", 1.0), Condition("missing-video", 1.0)]
        out += [Condition("offset", k) for k in self.offsets]
        return out


def add_noise_level_option(parser) -> None:
    """Add ``--raise-noise-level`` (:attr:`SweepConfig.keep_level` ``False``) to a parser."""
    parser.add_argument(
        "--raise-noise-level",
        action="store_true",
        help="sweep noise added at each clip's own level, so a lower SNR is also a louder clip "
        "(default: each noisy clip is scaled back to its clean level; see SweepConfig)",
    )


# --------------------------------------------------------------------------- corruptions


def white_noise_shape(preprocess) -> torch.Tensor:
    """Mean power per Mel band of white noise after ``preprocess``'s filterbank, ``(n_mels,)``.

    Each band sums the FFT bins under its triangle, so its share of white noise is the
    triangle's area: wider high bands collect more.
    """
    transform = _mel_transform(
        preprocess.sample_rate,
        preprocess.n_fft,
        preprocess.win_length,
        preprocess.hop_length,
        preprocess.n_mels,
        preprocess.f_min,
        preprocess.f_max,
    )
    area = transform.mel_scale.fb.sum(dim=0).float()
    # An empty band (narrower than one FFT bin) gets no noise, as white noise would give it.
    return area / area.mean()


def speech_shape(mel: torch.Tensor) -> torch.Tensor:
    """Long-term average power per Mel band of log-Mels ``(N, 1, n_mels, T)``, mean 1."""
    power = mel.double().exp().mean(dim=(0, 1, 3))
    return (power / power.mean()).float()


def _generator(condition: Condition, clip_id: str) -> torch.Generator:
    # Seeded by the kind and clip, not the level: every model hears the same noise, and a clip
    # one noise, louder at each lower SNR (common random numbers), so two levels differ by the
    # level alone, not by a new draw.
    digest = hashlib.sha256(f"{condition.kind}|{clip_id}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little"))


def corrupt_mel(
    mel: torch.Tensor,
    condition: Condition,
    clip_ids: Sequence[str],
    shapes: Mapping[str, torch.Tensor],
    silence: float,
    keep_level: bool = True,
) -> torch.Tensor:
    """``mel`` ``(N, 1, n_mels, T)`` under ``condition`` (unchanged for non-audio kinds).

    Noise is mixed in the power domain (:func:`cmaf.data.augment.add_noise_mel`); ``shapes``
    maps each noise kind to its band shape; ``silence`` is the log-Mel value of a zero waveform
    (what ``missing-audio`` gives); ``keep_level``: :attr:`SweepConfig.keep_level`.
    """
    if condition.kind == "missing-audio":
        return torch.full_like(mel, silence)
    if condition.kind not in shapes:
        return mel
    noisy = [
        add_noise_mel(
            clip,
            condition.level,
            _generator(condition, clip_id),
            shapes[condition.kind],
            keep_level=keep_level,
        )
        for clip, clip_id in zip(mel, clip_ids, strict=True)
    ]
    return torch.stack(noisy)


def corrupt_frames(frames: torch.Tensor, condition: Condition, face: FaceBox) -> torch.Tensor:
    """``frames`` ``(N, T, 3, H, W)`` in ``[0, 1]`` under ``condition`` (a copy when changed):
    black for ``missing-video``, a mid-grey patch for an occlusion."""
    if condition.kind == "missing-video":
        return torch.zeros_like(frames)
    if condition.kind not in ("occlude-upper", "occlude-lower"):
        return frames
    half = condition.kind.split("-")[1]
    rows, cols = face.rows_cols(condition.level, half, frames.shape[-2], frames.shape[-1])
    out = frames.clone()
    out[..., rows, cols] = 0.5
    return out


def shift_time(sequence: torch.Tensor, lag: int) -> torch.Tensor:
    """Delay ``(N, T, ...)`` by ``lag`` steps along ``T`` (negative: advance), edges repeated.

    A frozen backbone works frame by frame, so shifting its features shifts the frames.
    """
    steps = sequence.shape[1]
    index = (torch.arange(steps) - int(lag)).clamp(0, steps - 1)
    return sequence[:, index]


# --------------------------------------------------------------------------- evaluation


def load_trained(run_dir: str | Path, device: torch.device):
    """The config and the ``best.pt`` model (eval mode) of a finished run."""
    run_dir = Path(run_dir)
    config = ExperimentConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
    model = build_model(config.model).to(device)
    state = load_checkpoint(run_dir / "checkpoints" / "best.pt", map_location=device)
    model.load_state_dict(state["model"])
    return config, model.eval()


class _ShareProbe:
    """Forward hooks on a model's cross-attention blocks that measure each stream's share."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.sums = {column: 0.0 for column in STREAM_SHARES.values()}
        self.handles = []
        for name, column in STREAM_SHARES.items():
            block = getattr(model, name, None)
            if block is not None:
                self.handles.append(block.attention.register_forward_hook(self._hook(column)))
        self.present = {STREAM_SHARES[n] for n in STREAM_SHARES if hasattr(model, n)}

    def _hook(self, column: str):
        def hook(module, inputs, output):
            query, attended = inputs[0].float(), output[0].float()
            q, a = query.norm(dim=-1), attended.norm(dim=-1)
            self.sums[column] += float((a / (q + a).clamp_min(1e-12)).mean(dim=1).sum())

        return hook

    def take(self) -> dict[str, float]:
        """Summed per-clip shares since the last call (NaN for a stream the model lacks)."""
        out = {c: (self.sums[c] if c in self.present else math.nan) for c in self.sums}
        self.sums = dict.fromkeys(self.sums, 0.0)
        return out

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()


def _load_batch(cache_dir: Path, rows: Sequence[dict[str, str]], frames: bool):
    mels, videos = [], []
    for row in rows:
        item = read_item(cache_dir, row, skip=() if frames else ("frames",))
        if "mel" in item:
            mels.append(torch.from_numpy(item["mel"].astype(np.float32))[None])
        if frames and "frames" in item:
            videos.append(torch.from_numpy(item["frames"]).permute(0, 3, 1, 2).float() / 255)
    mel = torch.stack(mels) if mels else None
    video = torch.stack(videos) if videos else None
    return mel, video


def evaluate_run(
    run_dir: str | Path,
    cache_dir: str | Path,
    sweep: SweepConfig | None = None,
    *,
    device: torch.device | None = None,
    feature_memo: dict | None = None,
    progress: bool = False,
    save: bool = True,
) -> list[dict[str, object]]:
    """Accuracy, macro-F1 and attention shares of one run's test clips under every condition.

    Conditions that cannot change a model's input (noise for a video-only model, occlusion for
    an audio-only one) are skipped. ``feature_memo`` shares a frozen backbone's features of
    corrupted frames between runs with the same backbone and test clips. The rows are kept in
    the run directory (``robustness.csv``, the sweep's settings in ``robustness.json``) and read
    back when the same sweep is asked for again; ``save=False`` leaves the run directory as it
    is (a diagnostic's one-off sweep).
    """
    sweep = sweep or SweepConfig()
    run_dir = Path(run_dir)
    # The columns are part of the stamp: rows saved by an older sweep lack newer columns.
    stamp = json.dumps({"sweep": dataclasses.asdict(sweep), "columns": COLUMNS}, sort_keys=True)
    saved, saved_stamp = run_dir / "robustness.csv", run_dir / "robustness.json"
    if saved.is_file() and saved_stamp.is_file() and saved_stamp.read_text() == stamp:
        return load_curves(saved)
    rows = _evaluate_run(run_dir, cache_dir, sweep, device, feature_memo, progress)
    if save:
        _write_rows(saved, rows)
        atomic_write_text(saved_stamp, stamp)
    return rows


def _write_rows(path: Path, rows: Sequence[Mapping[str, object]]) -> None:
    """Rows as :func:`load_curves` returns them (tuples) to CSV, tuples "|"-joined."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS))
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {k: ("|".join(map(str, v)) if k in JOINED_COLUMNS else v) for k, v in row.items()}
        )
    atomic_write_text(path, buffer.getvalue())


def _evaluate_run(run_dir, cache_dir, sweep, device, feature_memo, progress):
    device = device or select_device("auto")
    cache_dir = resolve_cache_dir(cache_dir)
    config, model = load_trained(run_dir, device)
    split = Split.from_json((run_dir / "split.json").read_text())
    manifest = load_manifest(cache_dir)
    by_id = {row["clip_id"]: row for row in manifest}
    rows = [by_id[clip_id] for clip_id in split.test_ids]
    classes = class_names(cache_dir, manifest)
    reads_audio = hasattr(model, "audio_encoder")
    reads_video = hasattr(model, "visual_encoder")
    conditions = [
        c
        for c in sweep.conditions()
        if (reads_audio or c.kind not in AUDIO_KINDS)
        and (reads_video or c.kind not in (*VISUAL_KINDS, "offset"))
    ]
    frozen = reads_video and config.train.frozen_features
    memo = feature_memo if feature_memo is not None else {}
    backbone = _backbone_key(cache_dir, model.visual_encoder.backbone)[1] if frozen else ""
    silence = math.log(config.preprocess.log_offset)
    test_mel, _ = _load_batch(cache_dir, rows, frames=False)  # small; frames go by batch
    speaker_stats = None
    if reads_audio and config.data.speaker_norm:
        # A run trained on per-speaker standardised log-Mels sees its corrupted test clips
        # standardised with its speakers' clean statistics, those it was evaluated with.
        key = ("speaker-stats", str(cache_dir))
        if key not in memo:
            memo[key] = mel_speaker_stats(cache_dir, manifest)
        speaker_stats = memo[key]
    shapes: dict[str, torch.Tensor] = {}
    if reads_audio:
        shapes["white-noise"] = white_noise_shape(config.preprocess)
        shapes["speech-noise"] = speech_shape(test_mel)

    logits: dict[str, list[np.ndarray]] = {c.key: [] for c in conditions}
    shares: dict[str, list[dict[str, float]]] = {c.key: [] for c in conditions}
    probe = _ShareProbe(model)
    starts = range(0, len(rows), sweep.batch_size)
    try:
        with torch.no_grad():
            for start in tqdm(starts, desc=run_dir.name, disable=not progress, leave=False):
                batch_rows = rows[start : start + sweep.batch_size]
                ids = [row["clip_id"] for row in batch_rows]
                mel = test_mel[start : start + sweep.batch_size] if test_mel is not None else None
                frames = _load_batch(cache_dir, batch_rows, frames=True)[1] if reads_video else None
                for condition in conditions:
                    mel_in = mel
                    if reads_audio:
                        mel_in = corrupt_mel(
                            mel, condition, ids, shapes, silence, keep_level=sweep.keep_level
                        )
                        if speaker_stats is not None:
                            speakers = [row["speaker"] for row in batch_rows]
                            mel_in = torch.from_numpy(
                                standardize_by_speaker(
                                    mel_in[:, 0].numpy(), speakers, speaker_stats
                                )
                            )[:, None]
                    kwargs = {}
                    if reads_video:
                        visual = _visual_input(
                            model, frames, condition, sweep.face, ids, frozen, memo, backbone
                        )
                        if condition.kind == "offset":
                            visual = shift_time(visual, int(condition.level))
                        key = "frame_features" if frozen else "frames"
                        kwargs[key] = visual.to(device)
                    out = model(mel_in.to(device) if mel_in is not None else None, **kwargs)
                    logits[condition.key].append(out.logits.float().cpu().numpy())
                    shares[condition.key].append(probe.take())
    finally:
        probe.close()

    labels = np.array([int(row["label_index"]) for row in rows])
    results = []
    for condition in conditions:
        predicted = np.concatenate(logits[condition.key]).argmax(axis=1)
        report = classification_report(labels, predicted, classes)
        row = {
            "model": config.model.fusion,
            "run": run_dir.name,
            "kind": condition.kind,
            "level": condition.level,
            "strength": condition.strength,
            "clips": len(rows),
            "accuracy": report.accuracy,
            "macro_f1": report.macro.f1,
        }
        for column in STREAM_SHARES.values():
            row[column] = sum(part[column] for part in shares[condition.key]) / len(rows)
        n = len(classes)
        counts = {
            "label_counts": np.bincount(labels, minlength=n),
            "correct_counts": np.bincount(labels[predicted == labels], minlength=n),
            "predicted_counts": np.bincount(predicted, minlength=n),
            "correct": predicted == labels,
        }
        for column, value in counts.items():
            row[column] = tuple(int(v) for v in value)
        results.append(row)
    return results


def _visual_input(model, frames, condition, face, ids, frozen, memo, backbone):
    """Frames (ImageNet-normalised) or, for a frozen backbone, their features, corrupted."""
    corrupted = corrupt_frames(frames, condition, face)
    if not frozen:
        return _standardize(corrupted)
    vkey = condition.visual_key()
    missing = [i for i, clip_id in enumerate(ids) if (backbone, vkey, clip_id) not in memo]
    if missing:
        device = next(model.parameters()).device
        feats = model.visual_encoder.frame_features(_standardize(corrupted[missing]).to(device))
        for i, value in zip(missing, feats.float().cpu(), strict=True):
            memo[(backbone, vkey, ids[i])] = value
    return torch.stack([memo[(backbone, vkey, clip_id)] for clip_id in ids])


def run_robustness(
    runs: Mapping[str, Sequence[str | Path]],
    cache_dir: str | Path,
    out: str | Path,
    sweep: SweepConfig | None = None,
    *,
    device: torch.device | None = None,
    progress: bool = True,
) -> Path:
    """Sweep every run of every model (``{model: [run_dir, ...]}``) into the CSV ``out``, one
    row per (model, run, condition) with the :data:`COLUMNS`; returns ``out``."""
    memo: dict = {}
    results: list[dict[str, object]] = []
    pairs = [(name, Path(run)) for name, dirs in runs.items() for run in dirs]
    for name, run_dir in tqdm(pairs, desc="robustness", disable=not progress, leave=False):
        for row in evaluate_run(run_dir, cache_dir, sweep, device=device, feature_memo=memo):
            results.append({**row, "model": name})
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    _write_rows(out, results)
    return out


def load_curves(path: str | Path) -> list[dict[str, object]]:
    """Rows of ``robustness.csv`` with numbers parsed."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        for key in COLUMNS[3:]:
            if key in JOINED_COLUMNS:
                row[key] = tuple(int(v) for v in row[key].split("|"))
            else:
                row[key] = float(row[key]) if row[key] not in ("", "nan") else math.nan
    return rows


def summarize(rows: Sequence[Mapping[str, object]], metric: str = "accuracy") -> dict:
    """Mean and sample std of ``metric`` over runs: ``{(model, kind, level): (mean, std, n)}``."""
    groups: dict[tuple[str, str, float], list[float]] = {}
    for row in rows:
        key = (str(row["model"]), str(row["kind"]), float(row["level"]))
        groups.setdefault(key, []).append(float(row[metric]))
    return {
        key: (
            float(np.mean(values)),
            float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            len(values),
        )
        for key, values in groups.items()
    }


def curve(
    summary: Mapping[tuple[str, str, float], tuple[float, float, int]], model: str, kind: str
) -> list[tuple[float, float]]:
    """``[(strength, mean), ...]`` of one model and corruption, from clean to strongest."""
    points = [(0.0, summary[(model, "clean", 0.0)][0])] if (model, "clean", 0.0) in summary else []
    points += [
        (Condition(kind, level).strength, value[0])
        for (m, k, level), value in summary.items()
        if m == model and k == kind
    ]
    if kind in ("white-noise", "speech-noise"):
        # clean is the weakest noise: place it before the highest SNR
        points = [(-math.inf, points[0][1]), *points[1:]] if points else points
    return sorted(points)


def monotone(points: Sequence[tuple[float, float]], tolerance: float = 0.0) -> bool:
    """Whether a curve never rises by more than ``tolerance`` as the corruption grows."""
    values = [value for _, value in points]
    return all(b <= a + tolerance for a, b in itertools.pairwise(values))


def rise_test(before: Sequence[int], after: Sequence[int]) -> tuple[int, int, float]:
    """Paired sign test of a rise in accuracy between two conditions on the same clips.

    ``before`` and ``after`` are per-clip correctness (0/1) in one clip order. Returns the
    clips the stronger corruption turned right (``gains``) and wrong (``losses``), and the
    one-sided exact p-value of ``gains`` or more among the discordant clips if either change
    were equally likely (McNemar's exact test).
    """
    a = np.asarray(before, dtype=bool)
    b = np.asarray(after, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"rise_test: {a.shape[0]} clips before, {b.shape[0]} after")
    gains, losses = int(np.sum(~a & b)), int(np.sum(a & ~b))
    if gains + losses == 0:
        return 0, 0, 1.0
    # scipy's exact binomial tail, which stays finite for thousands of discordant clips (a
    # sum of binomial coefficients over 2**n overflows a float beyond n = 1023).
    p = binomtest(gains, gains + losses, 0.5, alternative="greater").pvalue
    return gains, losses, float(p)


def _levels(rows: Sequence[Mapping[str, object]], model: str, kind: str) -> list[tuple]:
    """``("clean", 0.0)``, then ``(kind, level)`` of ``model``'s rows, weakest to strongest;
    ``[]`` when there is no such level."""
    levels = sorted(
        {float(r["level"]) for r in rows if r["model"] == model and r["kind"] == kind},
        key=lambda v: Condition(kind, v).strength,
    )
    return [("clean", 0.0)] + [(kind, v) for v in levels] if levels else []


def monotonicity(
    rows: Sequence[Mapping[str, object]],
    kinds_by_model: Mapping[str, Sequence[str]] | None = None,
    alpha: float = 0.05,
) -> list[dict[str, object]]:
    """Whether each model's curve falls monotonically (the sanity check of the corruptions).

    A finite test set makes a curve jitter by a clip or two even when every step removes
    information, so a rise counts only if :func:`rise_test`, on the clips of all the model's
    runs paired between two levels (clean included, weaker before stronger), finds it
    significant (one-sided, ``alpha``; not corrected for the number of pairs, which errs
    towards calling a curve non-monotone).

    One row per (model, kind): accuracy ``clean`` and at the ``strongest`` level (mean over
    runs); the largest ``rise`` between two levels (pooled accuracy, 0 if none) from
    ``rise_from`` to ``rise_to`` (SNR or share, NaN for clean); ``p``, the smallest p-value of
    a rising pair (1 if none); and ``monotone`` (no pair below ``alpha``). ``kinds_by_model``
    defaults to the unimodal models and the corruptions of their own modality.
    """
    kinds_by_model = kinds_by_model or {
        "audio": ("white-noise", "speech-noise"),
        "video": ("occlude-upper", "occlude-lower"),
    }
    summary = summarize(rows)
    out = []
    for model, kinds in kinds_by_model.items():
        for kind in kinds:
            points = curve(summary, model, kind)
            if len(points) < 2:
                continue
            order = _levels(rows, model, kind)
            correct = {}  # (kind, level) -> per-clip correctness of all runs, runs in one order
            for key in order:
                chosen = sorted(
                    (r for r in rows
                     if r["model"] == model and (r["kind"], float(r["level"])) == key),
                    key=lambda r: str(r["run"]),
                )  # fmt: skip
                correct[key] = np.concatenate([np.asarray(r["correct"], bool) for r in chosen])
            rise, rise_pair, p_min = 0.0, (math.nan, math.nan), 1.0
            for i, j in itertools.combinations(range(len(order)), 2):
                before, after = correct[order[i]], correct[order[j]]
                gains, losses, p = rise_test(before, after)
                change = (gains - losses) / len(before)
                if change > rise:
                    rise = change
                    rise_pair = tuple(
                        math.nan if k == "clean" else v for k, v in (order[i], order[j])
                    )
                if gains > losses:
                    p_min = min(p_min, p)
            out.append(
                {
                    "model": model,
                    "kind": kind,
                    "clean": points[0][1],
                    "strongest": points[-1][1],
                    "rise": rise,
                    "rise_from": rise_pair[0],
                    "rise_to": rise_pair[1],
                    "p": p_min,
                    "monotone": p_min >= alpha,
                }
            )
    return out


def attention_shift(
    rows: Sequence[Mapping[str, object]], model: str = "cmaf"
) -> list[dict[str, object]]:
    """Change of each stream's share of the other modality from clean, per corruption.

    At the strongest level of each kind: ``visual_share_in_audio`` and
    ``audio_share_in_visual`` minus their clean values (mean over runs). Attention that
    down-weights a corrupted modality lowers *its* share in the other stream.
    """
    mine = [r for r in rows if r["model"] == model]
    if not mine:
        return []
    columns = list(STREAM_SHARES.values())
    shares = {c: summarize(mine, c) for c in columns}
    accuracy = summarize(mine)
    clean = {c: shares[c][(model, "clean", 0.0)][0] for c in columns}
    out = []
    for kind in KINDS:
        if kind in ("clean", "offset"):
            continue
        levels = [key[2] for key in accuracy if key[1] == kind]
        if not levels:
            continue
        level = min(levels, key=lambda v: -Condition(kind, v).strength)
        key = (model, kind, level)
        row = {"kind": kind, "level": level, "accuracy": accuracy[key][0]}
        for column in columns:
            row[f"{column} change"] = shares[column][key][0] - clean[column]
        out.append(row)
    return out


def prediction_drift(
    rows: Sequence[Mapping[str, object]], model: str, kind: str
) -> dict[str, np.ndarray]:
    """Where a model's predictions go as one corruption grows, pooled over its runs.

    Accuracy is the support-weighted mean of the per-class recalls, so when a corruption pushes
    predictions from one class towards another, the total can rise between two levels although
    the input only got worse; this shows it per class. Returns ``levels`` (NaN for clean, then
    weakest to strongest), ``support`` (test clips per class, all runs), and ``recall`` and
    ``predicted_share`` ``(levels, classes)``: the share of each class's clips predicted right
    and the share of all predictions naming each class. Empty when there is no such curve.
    """
    mine = [r for r in rows if r["model"] == model and r["kind"] in ("clean", kind)]
    order = _levels(mine, model, kind)
    if not order:
        return {}
    sums = {}
    for key in order:
        chosen = [r for r in mine if (r["kind"], float(r["level"])) == key]
        sums[key] = {c: np.sum([r[c] for r in chosen], axis=0) for c in COUNT_COLUMNS}
    support = sums[order[0]]["label_counts"]
    recall = np.stack([sums[k]["correct_counts"] / np.maximum(support, 1) for k in order])
    predicted = np.stack(
        [sums[k]["predicted_counts"] / max(sums[k]["predicted_counts"].sum(), 1) for k in order]
    )
    return {
        "levels": np.array([math.nan, *(level for _, level in order[1:])]),
        "support": support,
        "recall": recall,
        "predicted_share": predicted,
    }
