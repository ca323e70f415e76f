"""IEMOCAP loader (Busso et al. 2008).

Layout of ``IEMOCAP_full_release``::

    ROOT/Session1/dialog/EmoEvaluation/Ses01F_impro01.txt   one label file per dialog
    ROOT/Session1/dialog/wav/Ses01F_impro01.wav               dialog-long audio
    ROOT/Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F000.wav   16 kHz utterance audio
    ROOT/Session1/dialog/avi/DivX/Ses01F_impro01.avi          dialog-long split-screen video

A label file starts with a ``%`` header, then one block per utterance whose first line is::

    [6.2901 - 8.2357]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[2.5000, 2.5000, 2.5000]

(segment in seconds inside the dialog, utterance id, consensus label, valence / activation /
dominance). The block's other lines (``C-E2:`` categorical votes, ``A-E3:`` dimensional votes)
are per-annotator detail and are ignored.

Speaker and video side
----------------------
The last part of the utterance id (``F000`` / ``M012``) gives the *speaking* actor's sex; each
session has one female and one male actor, so the speaker is ``iemocap-Ses01F`` or
``iemocap-Ses01M``. The dialog video shows both actors side by side; which half shows whom is
**not** encoded in any file name, so it is an explicit option, ``side_of``, defaulting to
:data:`DEFAULT_SIDE_OF` (female left, male right). This default is an assumption: check a few
frames of your copy and override it (for instance per session) if it does not hold. Each record
stores ``meta["video_side"]`` and ``meta["crop"]`` (``"x0,y0,x1,y1"`` fractions; parse with
:func:`parse_crop` and pass to :func:`cmaf.data.media.read_video_frames`).

Class presets
-------------
``"paper8"``: the eight classes of the paper's Table 3, in its order (anger, happiness, sadness,
neutral, excited, frustration, surprise, fear). The paper's Table A2 lists nine labels (neutral,
calm, happy, sad, angry, fear, disgust, excited, surprised), which include *calm* (no IEMOCAP
code exists for it) and omit *frustration*; since Table 3 reports per-class results, it is taken
as what was trained. ``"four"``: the common 4-class set (neutral, happy = hap + exc merged, sad,
angry). ``"all"``: every IEMOCAP category but ``xxx``. Utterances whose label is outside the
preset (and every ``xxx``, no-agreement, utterance) are dropped without a :class:`Problem`: they are
valid data that the protocol excludes, not defects. :func:`label_counts` reports what a preset
keeps and drops.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from cmaf.data.records import ClipRecord, DataError, Problem, ScanResult
from cmaf.data.spec import DatasetSpec

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


def classes(preset: str = DEFAULT_PRESET) -> tuple[str, ...]:
    """Class names of a preset (``"paper8"``, ``"four"`` or ``"all"``)."""
    if preset not in PRESETS:
        raise DataError(f"IEMOCAP classes preset {preset!r} unknown: use {', '.join(PRESETS)}")
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
    """Read the utterance lines of one ``EmoEvaluation`` file.

    Returns one dict per utterance: ``utterance``, ``code``, ``start``, ``end`` (seconds),
    ``valence``, ``activation``, ``dominance`` (strings as written). Annotator lines are skipped.
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


def _sessions(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("Session*") if (p / "dialog" / "EmoEvaluation").is_dir())


def _check_root(root: str | Path) -> tuple[Path, list[Path]]:
    root = Path(root).expanduser()
    if not root.is_dir():
        what = "does not exist" if not root.exists() else "is not a folder"
        raise DataError(
            f"IEMOCAP root {root} {what}: pass IEMOCAP_full_release (holding Session1..5)"
        )
    sessions = _sessions(root)
    if not sessions:
        raise DataError(
            f"IEMOCAP root {root} has no Session*/dialog/EmoEvaluation folder: pass "
            "IEMOCAP_full_release (holding Session1..5)"
        )
    return root, sessions


def label_counts(root: str | Path) -> Counter:
    """Count the utterance label codes under ``root`` (``xxx`` included).

    Use it to see how many utterances a class preset drops.
    """
    _root, sessions = _check_root(root)
    counts: Counter = Counter()
    for session in sessions:
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
    """Find the IEMOCAP utterances under ``root``.

    Parameters
    ----------
    root
        ``IEMOCAP_full_release`` (holding ``Session1`` .. ``Session5``; fewer sessions are fine).
    classes
        Class preset: ``"paper8"`` (default), ``"four"`` or ``"all"``. Utterances outside it, and
        ``xxx`` ones, are dropped (not Problems).
    modality
        ``"av"`` (needs the sentence wav and the dialog avi), ``"audio"`` or ``"video"``.
    side_of
        Split-screen half of each actor by sex letter, ``{"F": "left", "M": "right"}`` by
        default (an assumption, see the module notes); a side may also be ``"full"`` (no crop).
    audio_source
        ``"dialog"`` (default): the dialog-long ``dialog/wav/<dialog>.wav``, cut at ``start`` /
        ``end`` like the video, so the record obeys :class:`ClipRecord`'s contract (one segment
        for every media file) and ``read_audio(record.audio_path, record.start, record.end)`` is
        right; ``meta["audio_segment"]`` is ``"segment"``. ``"sentence"``: the utterance's own
        ``sentences/wav/<dialog>/<utt>.wav``, already cut, which must then be read *whole*
        (``start`` / ``end`` apply to the video only; ``meta["audio_segment"]`` is ``"whole"``):
        only for code that checks that flag.

    Returns
    -------
    ScanResult
        Records sorted by utterance id, with ``start`` / ``end`` of the segment in the dialog
        video (see ``audio_source`` for the audio).
        A missing wav / avi for the chosen modality, an unreadable label file or a malformed
        utterance id becomes a :class:`Problem`.
    """
    if classes not in PRESETS:
        raise DataError(f"IEMOCAP classes preset {classes!r} unknown: use {', '.join(PRESETS)}")
    if modality not in ("av", "audio", "video"):
        raise DataError(f"IEMOCAP modality {modality!r} unknown: use 'av', 'audio' or 'video'")
    if audio_source not in ("sentence", "dialog"):
        raise DataError(
            f"IEMOCAP audio_source {audio_source!r} unknown: use 'sentence' or 'dialog'"
        )
    side_of = dict(DEFAULT_SIDE_OF if side_of is None else side_of)
    for sex in ("F", "M"):
        if side_of.get(sex) not in SIDE_CROPS:
            raise DataError(
                f"IEMOCAP side_of[{sex!r}] = {side_of.get(sex)!r}: give 'left', 'right' or 'full' "
                "for both 'F' and 'M'"
            )
    _names, mapping = PRESETS[classes]
    root, sessions = _check_root(root)
    result = ScanResult()
    for session in sessions:
        session_no = re.sub(r"\D", "", session.name)
        group = f"{DATASET}-Session{session_no}" if session_no else f"{DATASET}-{session.name}"
        for txt in _evaluation_files(session):
            try:
                rows = parse_evaluation(txt)
            except (DataError, OSError) as exc:
                result.problems.append(Problem(txt, str(exc)))
                continue
            for row in rows:
                utt = str(row["utterance"])
                label = mapping.get(str(row["code"]))
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
                missing = []
                if modality in ("av", "audio") and not wav.is_file():
                    missing.append(wav)
                if modality in ("av", "video") and not avi.is_file():
                    missing.append(avi)
                if missing:
                    result.problems.append(
                        Problem(missing[0], f"missing for utterance {utt} ({modality} mode)")
                    )
                    continue
                side = side_of[sex]
                crop = SIDE_CROPS[side]
                start, end = float(row["start"]), float(row["end"])
                meta = {
                    "session": f"Session{session_no}",
                    "dialog": dialog,
                    "code": str(row["code"]),
                    "sex": "female" if sex == "F" else "male",
                    "mocap_actor": "female" if mocap_sex == "F" else "male",
                    "video_side": side,
                    "audio_segment": "whole" if audio_source == "sentence" else "segment",
                    "crop": ",".join(f"{v:g}" for v in crop) if crop else "",
                    "valence": str(row["valence"]),
                    "activation": str(row["activation"]),
                    "dominance": str(row["dominance"]),
                }
                speaker = f"{DATASET}-Ses{num}{sex}"
                result.records.append(
                    ClipRecord(
                        dataset=DATASET,
                        clip_id=utt,
                        label=label,
                        speaker=speaker,
                        group=group,
                        audio_path=wav if modality in ("av", "audio") else None,
                        video_path=avi if modality in ("av", "video") else None,
                        start=start,
                        end=end,
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
