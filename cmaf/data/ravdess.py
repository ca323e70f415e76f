"""RAVDESS loader (Livingstone & Russo 2018), for the Zenodo archives as unpacked.

A file ``Actor_AA/MM-VV-EE-II-SS-RR-AA.ext`` (the ``Actor_XX`` folders at any depth under the
root) names its modality (01 audio-visual ``.mp4``, 02 video-only ``.mp4``, 03 audio-only
``.wav`` / ``.flac``), vocal channel, emotion, intensity, statement, repetition and actor. The
01-, 02- and 03- files with the same other six fields are one take recorded three ways, so
:func:`scan` keeps one file per take: counting them apart would put one performance in training
and in test.
"""

from __future__ import annotations

import re
from pathlib import Path

from cmaf.data.records import ClipRecord, DataError, Problem, ScanResult, check_size
from cmaf.data.spec import DatasetSpec, check_choice, check_root, sex_from_meta

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

    Returns ``modality``, ``vocal_channel``, ``intensity`` and ``repetition`` by name;
    ``emotion``, ``statement`` and ``actor`` as codes; ``label``; ``sex`` (odd actors male);
    ``take`` (the stem without modality: one for a take's 01-, 02- and 03- files) and ``prompt``
    (``take`` without repetition: one for the two repetitions, "twins"). A stem against the
    convention raises a one-line :class:`DataError` naming the wrong field.
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
    """The record's prompt (:func:`parse_name`), shared by the two repetitions of a take.

    Parsed from the clip id when that is a RAVDESS stem, else built from ``meta`` (``prompt``,
    or vocal channel, emotion / label, intensity, statement and actor, as names or codes). A
    sung and a spoken take are not twins. A :class:`DataError` when neither gives intensity
    and statement.
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


def _fields(path: Path) -> dict[str, str]:
    """:func:`parse_name` of a media file, checked against its folder and extension."""
    folder = _ACTOR_DIR.match(path.parent.name)
    if not folder:
        raise DataError("media file outside an Actor_XX folder")
    fields = parse_name(path.stem)
    if fields["actor"] != folder.group(1):
        raise DataError(
            f"actor code {fields['actor']} in the name but folder {path.parent.name}: "
            "file moved or renamed"
        )
    suffix = path.suffix.lower()
    expected = VIDEO_EXTENSIONS if fields["modality"] in ("av", "video") else AUDIO_EXTENSIONS
    if suffix not in expected:
        raise DataError(f"modality {fields['modality']} file with extension {suffix}")
    return fields


def scan(root: str | Path, modality: str = "av", vocal_channel: str = "speech") -> ScanResult:
    """Find the RAVDESS clips under ``root``, the folder holding the ``Actor_XX`` folders.

    Parameters
    ----------
    modality
        ``"av"``: one record per take from its 01- ``.mp4`` (both streams; audio and video path
        are the same file). ``"audio"``: from its 03- ``.wav`` / ``.flac``, else from the audio
        track of its 01- ``.mp4``.
    vocal_channel
        ``"speech"``, ``"song"`` or ``"all"``.

    Returns
    -------
    ScanResult
        Records sorted by clip id. Misnamed, misplaced, empty and duplicate files are
        :class:`Problem` entries. Nothing is decoded.
    """
    check_choice("RAVDESS", "modality", modality, ("av", "audio"))
    check_choice("RAVDESS", "vocal_channel", vocal_channel, ("speech", "song", "all"))
    root = check_root(root, "RAVDESS", "the folder holding the Actor_XX folders")
    extensions = AUDIO_EXTENSIONS + VIDEO_EXTENSIONS
    media = sorted(p for p in root.rglob("*") if p.suffix.lower() in extensions and p.is_file())
    if not any(_ACTOR_DIR.match(p.parent.name) for p in media):
        raise DataError(
            f"RAVDESS root {root} holds no Actor_XX folder with .mp4/.wav/.flac files: "
            "unzip the RAVDESS archives there (Actor_01 ... Actor_24)"
        )

    # Rank of each usable modality; per take the lowest wins (an 03- file over the 01- mp4).
    # In av mode the 02-/03- copies of a take are never extra samples (a leak); video-only
    # files carry no audio.
    ranks = {"av": {"av": 0}, "audio": {"audio": 0, "av": 1}}[modality]
    result = ScanResult()
    chosen: dict[str, tuple[int, Path, dict[str, str]]] = {}
    for path in media:
        try:
            fields = _fields(path)
        except DataError as exc:
            result.problems.append(Problem(path, str(exc)))
            continue
        rank = ranks.get(fields["modality"])
        if rank is None or vocal_channel not in ("all", fields["vocal_channel"]):
            continue
        _, problem = check_size(path, "re-extract it")
        if problem is not None:
            result.problems.append(problem)
            continue
        previous = chosen.get(fields["take"])
        if previous is None or rank < previous[0]:
            chosen[fields["take"]] = (rank, path, fields)
        elif rank == previous[0]:
            result.problems.append(
                Problem(path, f"duplicate of {previous[1].name} (same take): skipped")
            )

    for _rank, path, fields in sorted(chosen.values(), key=lambda item: item[1].stem):
        speaker = f"{DATASET}-{fields['actor']}"
        meta = {k: v for k, v in fields.items() if k not in ("emotion", "label")}
        meta["emotion_code"] = fields["emotion"]
        result.records.append(
            ClipRecord(
                dataset=DATASET,
                clip_id=path.stem,
                label=fields["label"],
                speaker=speaker,
                group=speaker,
                audio_path=path,
                video_path=path if modality == "av" else None,
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
