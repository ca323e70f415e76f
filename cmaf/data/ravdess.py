"""RAVDESS loader (Livingstone & Russo 2018).

Layout, as distributed on Zenodo (one zip per actor and modality, each unpacking to ``Actor_XX``)::

    ROOT/Actor_01/01-01-03-02-01-01-01.mp4   full audio-visual (modality 01)
    ROOT/Actor_01/02-01-03-02-01-01-01.mp4   video only (modality 02)
    ROOT/Actor_01/03-01-03-02-01-01-01.wav   audio only (modality 03; ``.flac`` in our shared copy)

The seven two-digit fields of a file name are modality, vocal channel, emotion, intensity,
statement, repetition and actor. Files of modality 01, 02 and 03 with the same remaining six fields
are *the same take* recorded three ways: a loader that counted them as separate samples would put
the same performance in train and test. ``scan`` therefore keeps exactly one file per take.

The ``Actor_XX`` folders may sit directly under ``ROOT`` or one level deeper (for example
``ROOT/Video_Speech_Actor_01/Actor_01``); any depth is accepted.
"""

from __future__ import annotations

import re
from pathlib import Path

from cmaf.data.records import ClipRecord, DataError, Problem, ScanResult, check_size
from cmaf.data.spec import DatasetSpec, sex_from_meta

DATASET = "ravdess"

#: Canonical label names in RAVDESS emotion-code order (code 01 .. 08).
CLASSES: tuple[str, ...] = (
    "neutral",
    "calm",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgust",
    "surprised",
)

MODALITIES = {"01": "av", "02": "video", "03": "audio"}
VOCAL_CHANNELS = {"01": "speech", "02": "song"}
INTENSITIES = {"01": "normal", "02": "strong"}
STATEMENTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
REPETITIONS = {"01": "1", "02": "2"}

AUDIO_EXTENSIONS = (".wav", ".flac")
VIDEO_EXTENSIONS = (".mp4",)

_NAME = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")
_ACTOR_DIR = re.compile(r"^Actor_(\d{2})$")


def parse_name(stem: str) -> dict[str, str]:
    """Decode a RAVDESS file stem such as ``"01-01-03-02-01-01-12"``.

    Returns
    -------
    dict
        ``modality`` (``av`` / ``video`` / ``audio``), ``vocal_channel`` (``speech`` / ``song``),
        ``emotion`` (two-digit code), ``label`` (canonical name), ``intensity`` (``normal`` /
        ``strong``), ``statement`` (``01`` / ``02``), ``repetition`` (``1`` / ``2``), ``actor``
        (two-digit code), ``sex`` (``male`` for odd actors, ``female`` for even), ``take`` (the
        stem without its modality field: identical for the 01-, 02- and 03- files of one
        recording) and ``prompt`` (``take`` without the repetition: identical for the two
        repetitions of one prompt).

    Raises
    ------
    DataError
        When the stem does not follow the convention (one line saying which field is wrong).
    """
    match = _NAME.match(stem)
    if not match:
        raise DataError(
            f"{stem!r}: not a RAVDESS name (expected seven two-digit fields like "
            "01-01-03-02-01-01-12)"
        )
    mod, voc, emo, inten, stmt, rep, actor = match.groups()
    checks = (
        ("modality", mod, MODALITIES),
        ("vocal channel", voc, VOCAL_CHANNELS),
        ("intensity", inten, INTENSITIES),
        ("statement", stmt, STATEMENTS),
        ("repetition", rep, REPETITIONS),
    )
    for what, code, table in checks:
        if code not in table:
            raise DataError(f"{stem!r}: unknown {what} code {code} (valid: {', '.join(table)})")
    if not 1 <= int(emo) <= len(CLASSES):
        raise DataError(f"{stem!r}: unknown emotion code {emo} (valid: 01..08)")
    if not 1 <= int(actor) <= 24:
        raise DataError(f"{stem!r}: actor code {actor} outside 01..24")
    if emo == "01" and inten == "02":
        # RAVDESS has no strong-intensity neutral: such a name is a renamed or corrupt file.
        raise DataError(f"{stem!r}: neutral (emotion 01) has no strong intensity (02)")
    return {
        "modality": MODALITIES[mod],
        "vocal_channel": VOCAL_CHANNELS[voc],
        "emotion": emo,
        "label": CLASSES[int(emo) - 1],
        "intensity": INTENSITIES[inten],
        "statement": stmt,
        "repetition": REPETITIONS[rep],
        "actor": actor,
        "sex": "male" if int(actor) % 2 else "female",
        "take": f"{voc}-{emo}-{inten}-{stmt}-{rep}-{actor}",
        "prompt": f"{voc}-{emo}-{inten}-{stmt}-{actor}",
    }


#: File-name code of each name the loader writes into ``meta`` (``"speech"`` -> ``"01"``).
_CODES = {name: code for table in (VOCAL_CHANNELS, INTENSITIES) for code, name in table.items()}
_CODES.update({name: f"{i:02d}" for i, name in enumerate(CLASSES, 1)})


def twin_key(record: ClipRecord) -> str:
    """The record's prompt: shared by the two repetitions of one take, which are "twins".

    The prompt is the file stem without its modality and repetition fields (``meta["prompt"]``
    of a scanned record): vocal channel, emotion, intensity, statement and actor, as codes. It is
    parsed from the clip id when that is a RAVDESS stem, else taken from ``meta`` (``prompt``, or
    ``vocal_channel``, ``emotion_code`` / ``emotion`` / the label, ``intensity``, ``statement``,
    ``actor`` / the speaker's number; names such as ``"strong"`` count as their codes). A sung and
    a spoken take are not twins.

    Raises
    ------
    DataError
        When neither the clip id nor ``meta`` gives intensity and statement.
    """
    try:
        return parse_name(record.clip_id)["prompt"]
    except DataError:
        pass
    meta = record.meta
    if meta.get("prompt"):
        return str(meta["prompt"])
    emotion = meta.get("emotion_code") or meta.get("emotion") or record.label
    actor = meta.get("actor") or record.speaker.rsplit("-", 1)[-1]
    fields = [meta.get("vocal_channel", ""), emotion, meta.get("intensity"), meta.get("statement")]
    if not all(fields[1:]) or not actor:
        raise DataError(
            f"RAVDESS clip {record.clip_id!r} lacks intensity or statement in meta and its id is "
            "not a RAVDESS file stem: cannot find its twin"
        )
    codes = [_CODES.get(str(v).strip().lower(), str(v).strip()) for v in (*fields, actor)]
    return "-".join(c.zfill(2) if c else c for c in codes)


def sex_of(record: ClipRecord) -> str | None:
    """``"M"`` / ``"F"`` from ``meta["sex"]``, else by the actor's number: odd male, even female."""
    actor = str(record.meta.get("actor") or record.speaker.rsplit("-", 1)[-1])
    parity = ("F", "M")[int(actor) % 2] if actor.isdigit() else None
    return sex_from_meta(record) or parity


def _check_root(root: str | Path) -> Path:
    root = Path(root).expanduser()
    if not root.exists():
        raise DataError(
            f"RAVDESS root {root} does not exist: pass the folder holding the Actor_XX folders"
        )
    if not root.is_dir():
        raise DataError(f"RAVDESS root {root} is not a folder: pass the folder holding Actor_XX")
    return root


def scan(root: str | Path, modality: str = "av", vocal_channel: str = "speech") -> ScanResult:
    """Find the RAVDESS clips under ``root``.

    Parameters
    ----------
    root
        Folder holding the ``Actor_XX`` folders (at any depth).
    modality
        ``"av"``: one record per take from the modality-01 ``.mp4`` (both streams; audio and
        video path are the same file). The 02- and 03- files of the same take are ignored, so a
        take never appears twice. ``"audio"``: one record per take from the modality-03
        ``.wav`` / ``.flac``; a take that has no 03- file but has a 01- ``.mp4`` falls back to the
        mp4's audio track.
    vocal_channel
        ``"speech"`` (default), ``"song"`` or ``"all"``.

    Returns
    -------
    ScanResult
        Records sorted by clip id. Files named against the convention, in a folder whose actor
        code disagrees with the name, empty, or duplicating a take already found become
        :class:`Problem` entries and are skipped. Nothing is decoded here.

    Raises
    ------
    DataError
        Missing / non-folder root, a bad option, or no ``Actor_XX`` folder with media under root.
    """
    if modality not in ("av", "audio"):
        raise DataError(f"RAVDESS modality {modality!r} unknown: use 'av' or 'audio'")
    if vocal_channel not in ("speech", "song", "all"):
        raise DataError(
            f"RAVDESS vocal_channel {vocal_channel!r} unknown: use 'speech', 'song' or 'all'"
        )
    root = _check_root(root)
    result = ScanResult()
    media = sorted(
        p
        for p in root.rglob("*")
        if p.suffix.lower() in AUDIO_EXTENSIONS + VIDEO_EXTENSIONS and p.is_file()
    )
    in_actor_dirs = [p for p in media if _ACTOR_DIR.match(p.parent.name)]
    if not in_actor_dirs:
        raise DataError(
            f"RAVDESS root {root} holds no Actor_XX folder with .mp4/.wav/.flac files: "
            "unzip the RAVDESS archives there (Actor_01 ... Actor_24)"
        )

    # take -> (priority, path, fields); lower priority wins (03 audio file over 01 mp4 fallback).
    chosen: dict[str, tuple[int, Path, dict[str, str]]] = {}
    for path in media:
        folder = _ACTOR_DIR.match(path.parent.name)
        if not folder:
            result.problems.append(Problem(path, "media file outside an Actor_XX folder"))
            continue
        try:
            fields = parse_name(path.stem)
        except DataError as exc:
            result.problems.append(Problem(path, str(exc)))
            continue
        if fields["actor"] != folder.group(1):
            result.problems.append(
                Problem(
                    path,
                    f"actor code {fields['actor']} in the name but folder {path.parent.name}: "
                    "file moved or renamed",
                )
            )
            continue
        suffix = path.suffix.lower()
        expected = VIDEO_EXTENSIONS if fields["modality"] in ("av", "video") else AUDIO_EXTENSIONS
        if suffix not in expected:
            result.problems.append(
                Problem(path, f"modality {fields['modality']} file with extension {suffix}")
            )
            continue
        if vocal_channel != "all" and fields["vocal_channel"] != vocal_channel:
            continue
        if modality == "av":
            if fields["modality"] != "av":
                continue  # 02-/03- copies of an AV take: never extra samples (leak)
            priority = 0
        else:
            if fields["modality"] == "audio":
                priority = 0
            elif fields["modality"] == "av":
                priority = 1
            else:
                continue  # video-only files carry no audio
        _, problem = check_size(path, "re-extract it")
        if problem is not None:
            result.problems.append(problem)
            continue
        take = fields["take"]
        previous = chosen.get(take)
        if previous is None or priority < previous[0]:
            chosen[take] = (priority, path, fields)
        elif priority == previous[0]:
            result.problems.append(
                Problem(path, f"duplicate of {previous[1].name} (same take): skipped")
            )

    for _priority, path, fields in sorted(chosen.values(), key=lambda item: item[1].stem):
        speaker = f"{DATASET}-{fields['actor']}"
        meta = {
            key: fields[key]
            for key in (
                "modality",
                "vocal_channel",
                "intensity",
                "statement",
                "repetition",
                "actor",
                "sex",
                "take",
                "prompt",
            )
        }
        meta["emotion_code"] = fields["emotion"]
        is_video = path.suffix.lower() in VIDEO_EXTENSIONS
        result.records.append(
            ClipRecord(
                dataset=DATASET,
                clip_id=path.stem,
                label=fields["label"],
                speaker=speaker,
                group=speaker,
                audio_path=path,
                video_path=path if (is_video and modality == "av") else None,
                meta=meta,
            )
        )
    return result


SPEC = DatasetSpec(
    name=DATASET,
    display_name="RAVDESS",
    scan=scan,
    classes=CLASSES,
    group="actor",
    n_folds=None,
    fold_size=4,  # 24 actors -> 6 folds of 4, two male and two female each
    sex=sex_of,
    twin_key=twin_key,
)
