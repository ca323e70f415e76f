"""IEMOCAP loader (Busso et al. 2008), for ``IEMOCAP_full_release`` as distributed.

Each ``SessionN`` holds ``dialog/EmoEvaluation/<dialog>.txt`` (labels), ``dialog/wav/<dialog>.wav``
and ``sentences/wav/<dialog>/<utterance>.wav`` (16 kHz audio) and ``dialog/avi/DivX/<dialog>.avi``
(both actors side by side). In a label file an utterance's first line is ``[start - end]``,
utterance id, label code and ``[valence, activation, dominance]``, tab-separated; the
annotators' lines below it are ignored.

The utterance id ends in the speaking actor's sex (``F000`` / ``M012``); a session has one
female and one male actor. Which half of the video shows whom is in no file name, so it is the
option ``side_of``, whose default :data:`DEFAULT_SIDE_OF` (female left) is an assumption to
check on a few frames. ``meta["crop"]`` (read it with :func:`parse_crop`) is that half, for
:func:`cmaf.data.media.read_video_frames`.

Class presets: ``"paper8"``, the eight classes of the paper's Table 3 in its order (Table A2
lists nine labels, with *calm*, which has no IEMOCAP code, and without *frustration*; Table 3
reports per-class results, so it is taken as what was trained); ``"four"``: neutral, happy (hap
and exc), sad, angry; ``"all"``: every code but ``xxx`` (no agreement). Utterances outside the
preset are dropped without a :class:`Problem`: the protocol excludes them, they are not defects.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from cmaf.data.records import ClipRecord, DataError, Problem, ScanResult
from cmaf.data.spec import DatasetSpec, check_choice, check_root

DATASET = "iemocap"

#: IEMOCAP label codes -> canonical names (``xxx``: annotators did not agree; never a class).
CODE_TO_NAME = {
    "neu": "neutral",
    "fru": "frustrated",
    "ang": "angry",
    "sad": "sad",
    "hap": "happy",
    "exc": "excited",
    "sur": "surprised",
    "fea": "fearful",
    "dis": "disgust",
    "oth": "other",
}

#: Class presets: ordered class names and the code -> class mapping each uses.
PRESETS: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "paper8": (
        ("angry", "happy", "sad", "neutral", "excited", "frustrated", "surprised", "fearful"),
        {c: CODE_TO_NAME[c] for c in ("ang", "hap", "sad", "neu", "exc", "fru", "sur", "fea")},
    ),
    "four": (
        ("neutral", "happy", "sad", "angry"),
        {"neu": "neutral", "hap": "happy", "exc": "happy", "sad": "sad", "ang": "angry"},
    ),
    "all": (tuple(CODE_TO_NAME.values()), dict(CODE_TO_NAME)),
}

#: Default preset, and :data:`CLASSES` is its class list.
DEFAULT_PRESET = "paper8"
CLASSES: tuple[str, ...] = PRESETS[DEFAULT_PRESET][0]

#: Assumed split-screen side of each actor (by sex letter). Override with ``scan(side_of=...)``.
DEFAULT_SIDE_OF = {"F": "left", "M": "right"}
SIDE_CROPS = {"left": (0.0, 0.0, 0.5, 1.0), "right": (0.5, 0.0, 1.0, 1.0), "full": None}

_LINE = re.compile(
    r"^\[\s*([\d.]+)\s*-\s*([\d.]+)\s*\]\t(\S+)\t(\w+)\t\[\s*([-\d.]+),\s*([-\d.]+),\s*([-\d.]+)\s*\]"
)
_UTTERANCE = re.compile(r"^(Ses(\d{2})([FM]))_(.+)_([FM])(\d{3})$")
_HOLDING = "IEMOCAP_full_release (holding Session1..5)"


def classes(preset: str = DEFAULT_PRESET) -> tuple[str, ...]:
    """Class names of a preset (``"paper8"``, ``"four"`` or ``"all"``)."""
    check_choice("IEMOCAP", "classes preset", preset, PRESETS)
    return PRESETS[preset][0]


def parse_crop(text: str | None) -> tuple[float, float, float, float] | None:
    """Turn ``meta["crop"]`` (``"0,0,0.5,1"``, or empty for none) into a crop tuple."""
    if not text:
        return None
    parts = tuple(float(v) for v in text.split(","))
    if len(parts) != 4:
        raise DataError(f"crop {text!r}: expected four comma-separated fractions x0,y0,x1,y1")
    return parts  # type: ignore[return-value]


def parse_evaluation(path: str | Path) -> list[dict[str, str | float]]:
    """The utterance lines of one ``EmoEvaluation`` file, one dict per utterance.

    Keys: ``utterance``, ``code``, ``start`` and ``end`` (seconds), and ``valence``,
    ``activation`` and ``dominance`` (strings as written).
    """
    path = Path(path)
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.startswith("["):
            continue  # %-header, C-/A- annotator lines, blank lines
        match = _LINE.match(line)
        if not match:
            raise DataError(f"{path}: unreadable utterance line {line.strip()!r}")
        start, end, utt, code, val, act, dom = match.groups()
        rows.append(
            {
                "utterance": utt,
                "code": code,
                "start": float(start),
                "end": float(end),
                "valence": val,
                "activation": act,
                "dominance": dom,
            }
        )
    return rows


def _evaluation_files(session: Path) -> list[Path]:
    # Top level only (the Categorical/ and Attribute/ subfolders hold per-annotator files), and
    # no macOS "._" resource-fork twins, which the official archive contains.
    folder = session / "dialog" / "EmoEvaluation"
    return sorted(p for p in folder.glob("*.txt") if not p.name.startswith("._"))


def _sessions(root: str | Path) -> list[Path]:
    """The session folders under ``root``; a one-line :class:`DataError` if there are none."""
    root = check_root(root, "IEMOCAP", _HOLDING)
    sessions = sorted(p for p in root.glob("Session*") if (p / "dialog" / "EmoEvaluation").is_dir())
    if not sessions:
        raise DataError(
            f"IEMOCAP root {root} has no Session*/dialog/EmoEvaluation folder: pass {_HOLDING}"
        )
    return sessions


def label_counts(root: str | Path) -> Counter:
    """Count the utterance label codes under ``root`` (``xxx`` included): what a preset drops."""
    counts: Counter = Counter()
    for session in _sessions(root):
        for txt in _evaluation_files(session):
            counts.update(row["code"] for row in parse_evaluation(txt))
    return counts


def scan(
    root: str | Path,
    classes: str = DEFAULT_PRESET,
    modality: str = "av",
    side_of: dict[str, str] | None = None,
    audio_source: str = "dialog",
) -> ScanResult:
    """Find the IEMOCAP utterances under ``root`` (``IEMOCAP_full_release``; any sessions).

    Parameters
    ----------
    classes
        Class preset: ``"paper8"``, ``"four"`` or ``"all"``.
    modality
        ``"av"`` (needs the wav and the dialog avi), ``"audio"`` or ``"video"``.
    side_of
        Split-screen half of each actor by sex letter: ``"left"``, ``"right"`` or ``"full"`` (no
        crop); default :data:`DEFAULT_SIDE_OF`.
    audio_source
        ``"dialog"``: the dialog's wav, cut at ``start`` / ``end`` like the video, so
        ``read_audio(record.audio_path, record.start, record.end)`` is right
        (``meta["audio_segment"]`` is ``"segment"``). ``"sentence"``: the utterance's own wav,
        already cut and to be read whole (``"whole"``): only for code that checks that flag.

    Returns
    -------
    ScanResult
        Records sorted by utterance id, with ``start`` / ``end`` of the segment in the dialog.
        A missing wav / avi, an unreadable label file or a malformed utterance id is a
        :class:`Problem`.
    """
    check_choice("IEMOCAP", "classes preset", classes, PRESETS)
    check_choice("IEMOCAP", "modality", modality, ("av", "audio", "video"))
    check_choice("IEMOCAP", "audio_source", audio_source, ("sentence", "dialog"))
    side_of = dict(DEFAULT_SIDE_OF if side_of is None else side_of)
    for sex in ("F", "M"):
        check_choice("IEMOCAP", f"side_of[{sex!r}]", side_of.get(sex), SIDE_CROPS)
    _names, mapping = PRESETS[classes]
    result = ScanResult()
    for session in _sessions(root):
        session_no = re.sub(r"\D", "", session.name)
        group = f"{DATASET}-Session{session_no}" if session_no else f"{DATASET}-{session.name}"
        for txt in _evaluation_files(session):
            try:
                rows = parse_evaluation(txt)
            except (DataError, OSError) as exc:
                result.problems.append(Problem(txt, str(exc)))
                continue
            for row in rows:
                utt, code = str(row["utterance"]), str(row["code"])
                label = mapping.get(code)
                if label is None:
                    continue  # outside the preset or xxx: excluded by protocol
                match = _UTTERANCE.match(utt)
                if not match:
                    result.problems.append(Problem(txt, f"{utt}: not an IEMOCAP utterance id"))
                    continue
                _code, num, mocap_sex, _rest, sex, _idx = match.groups()
                dialog = utt.rsplit("_", 1)[0]
                if audio_source == "sentence":
                    wav = session / "sentences" / "wav" / dialog / f"{utt}.wav"
                else:
                    wav = session / "dialog" / "wav" / f"{dialog}.wav"
                avi = session / "dialog" / "avi" / "DivX" / f"{dialog}.avi"
                wav = wav if modality in ("av", "audio") else None
                avi = avi if modality in ("av", "video") else None
                missing = [p for p in (wav, avi) if p is not None and not p.is_file()]
                if missing:
                    result.problems.append(
                        Problem(missing[0], f"missing for utterance {utt} ({modality} mode)")
                    )
                    continue
                crop = SIDE_CROPS[side_of[sex]]
                meta = {
                    "session": f"Session{session_no}",
                    "dialog": dialog,
                    "code": code,
                    "sex": "female" if sex == "F" else "male",
                    "mocap_actor": "female" if mocap_sex == "F" else "male",
                    "video_side": side_of[sex],
                    "audio_segment": "whole" if audio_source == "sentence" else "segment",
                    "crop": ",".join(f"{v:g}" for v in crop) if crop else "",
                    **{k: str(row[k]) for k in ("valence", "activation", "dominance")},
                }
                result.records.append(
                    ClipRecord(
                        dataset=DATASET,
                        clip_id=utt,
                        label=label,
                        speaker=f"{DATASET}-Ses{num}{sex}",
                        group=group,
                        audio_path=wav,
                        video_path=avi,
                        start=float(row["start"]),
                        end=float(row["end"]),
                        meta=meta,
                    )
                )
    result.records.sort(key=lambda r: r.clip_id)
    return result


#: Each session holds one female and one male actor, so folds need no sex balancing.
SPEC = DatasetSpec(
    name=DATASET,
    display_name="IEMOCAP",
    scan=scan,
    classes=CLASSES,
    presets={name: names for name, (names, _mapping) in PRESETS.items()},
    group="session",
    n_folds=None,
    fold_size=1,  # leave one session out: 5 folds
)
