"""CREMA-D loader (Cao et al. 2014).

Layout of the official repository (CheyneyComputerScience/CREMA-D)::

    ROOT/AudioWAV/1001_DFA_ANG_XX.wav        16 kHz mono PCM
    ROOT/VideoFlash/1001_DFA_ANG_XX.flv      FLV: a data stream first, On2 VP6 480x360 29.97 fps,
                                             MP3 44.1 kHz mono
    ROOT/VideoDemographics.csv               optional: ActorID, Age, Sex, Race, Ethnicity
    ROOT/processedResults/tabulatedVotes.csv optional: crowd-sourced perceived labels

A stem is ``ACTOR_SENTENCE_EMOTION_LEVEL``: actor 1001-1091, one of 12 sentence codes, one of six
emotion codes and a level (LO / MD / HI, or XX when unspecified).

Perceived labels (``labels="voice" | "face" | "multimodal"``) come from
``processedResults/tabulatedVotes.csv``. Its format, as in the official repository (checked
against commit 63f0471 and the repository's own ``readTabulatedVotes.R``): an unnamed first column
of R row names such as ``"100001"`` whose *first digit is the rating modality* (1 = voice only,
2 = face only, 3 = audio-visual, matching the repository's ``VoiceVote`` / ``FaceVote`` /
``MultiModalVote``), then vote counts ``A, D, F, H, N, S``, ``fileName`` (the clip stem),
``numResponses``, ``agreement``, ``emoVote`` (the majority letter, or letters joined by ``:`` on a
tie, e.g. ``A:D``) and mean-rating columns. The header is checked strictly: a file lacking these
columns raises :class:`DataError` naming the columns it has.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from cmaf.data.records import ClipRecord, DataError, Problem, ScanResult, check_size
from cmaf.data.spec import DatasetSpec

DATASET = "crema-d"

#: Emotion codes in the order of :data:`CLASSES` (alphabetical by code, as the paper's Table 2).
EMOTION_CODES: tuple[str, ...] = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")

#: Canonical labels, index-aligned with :data:`EMOTION_CODES`. Names follow RAVDESS's wording
#: (``angry``, ``fearful``) so the same emotion has one name across datasets.
CLASSES: tuple[str, ...] = ("angry", "disgust", "fearful", "happy", "neutral", "sad")

CODE_TO_LABEL = dict(zip(EMOTION_CODES, CLASSES, strict=True))

#: One-letter vote codes of tabulatedVotes.csv.
VOTE_TO_LABEL = {code[0]: label for code, label in CODE_TO_LABEL.items()}

SENTENCES = {
    "IEO": "It's eleven o'clock",
    "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting",
    "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full",
    "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock",
    "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket",
    "ITS": "I think I've seen this before",
    "TSI": "The surface is slick",
    "WSI": "We'll stop in a couple of minutes",
}
LEVELS = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"}
ACTORS = range(1001, 1092)

AUDIO_DIR, VIDEO_DIR = "AudioWAV", "VideoFlash"
DEMOGRAPHICS = "VideoDemographics.csv"
VOTES = Path("processedResults") / "tabulatedVotes.csv"
DEMOGRAPHIC_COLUMNS = ("ActorID", "Age", "Sex", "Race", "Ethnicity")
VOTE_COLUMNS = ("A", "D", "F", "H", "N", "S", "fileName", "numResponses", "agreement", "emoVote")
#: First digit of a tabulatedVotes row name -> rating modality.
VOTE_MODALITY_DIGIT = {"voice": "1", "face": "2", "multimodal": "3"}

_NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})$")


def parse_name(stem: str) -> dict[str, str]:
    """Decode a CREMA-D stem such as ``"1001_DFA_ANG_XX"``.

    Returns ``actor``, ``sentence`` (code), ``emotion`` (code), ``label``, ``level`` (``low`` /
    ``medium`` / ``high`` / ``unspecified``). Raises :class:`DataError` on a malformed stem.
    """
    match = _NAME.match(stem)
    if not match:
        raise DataError(f"{stem!r}: not a CREMA-D name (expected like 1001_DFA_ANG_XX)")
    actor, sentence, emotion, level = match.groups()
    if int(actor) not in ACTORS:
        raise DataError(f"{stem!r}: actor {actor} outside 1001..1091")
    if sentence not in SENTENCES:
        raise DataError(f"{stem!r}: unknown sentence code {sentence}")
    if emotion not in CODE_TO_LABEL:
        raise DataError(f"{stem!r}: unknown emotion code {emotion} ({', '.join(EMOTION_CODES)})")
    if level not in LEVELS:
        raise DataError(f"{stem!r}: unknown level code {level} ({', '.join(LEVELS)})")
    return {
        "actor": actor,
        "sentence": sentence,
        "emotion": emotion,
        "label": CODE_TO_LABEL[emotion],
        "level": LEVELS[level],
    }


def read_demographics(path: str | Path) -> dict[str, dict[str, str]]:
    """Read ``VideoDemographics.csv`` into ``{actor: {"age", "sex", "race", "ethnicity"}}``.

    Sex is lower-cased (``male`` / ``female``) to match RAVDESS's meta.
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        found = tuple(reader.fieldnames or ())
        if not set(DEMOGRAPHIC_COLUMNS) <= set(found):
            raise DataError(
                f"{path}: unexpected header {list(found)} (need {list(DEMOGRAPHIC_COLUMNS)}): "
                "use the official VideoDemographics.csv"
            )
        table = {}
        for row in reader:
            table[row["ActorID"].strip()] = {
                "age": row["Age"].strip(),
                "sex": row["Sex"].strip().lower(),
                "race": row["Race"].strip(),
                "ethnicity": row["Ethnicity"].strip(),
            }
    return table


def read_votes(path: str | Path, rating: str) -> dict[str, dict[str, str]]:
    """Read the rows of one rating modality from ``tabulatedVotes.csv``.

    Parameters
    ----------
    rating
        ``"voice"``, ``"face"`` or ``"multimodal"`` (row names starting 1, 2 or 3).

    Returns
    -------
    dict
        ``{stem: {"vote": emoVote, "agreement": ..., "responses": numResponses}}``.
    """
    path = Path(path)
    digit = VOTE_MODALITY_DIGIT[rating]
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise DataError(f"{path}: empty file, expected the official tabulatedVotes.csv")
        missing = [c for c in VOTE_COLUMNS if c not in header]
        if missing or header[0] != "":
            raise DataError(
                f"{path}: unexpected header, found columns {header} (need an unnamed row-name "
                f"column first and {list(VOTE_COLUMNS)}): use the official tabulatedVotes.csv"
            )
        index = {name: i for i, name in enumerate(header)}
        votes = {}
        for row in reader:
            if not row or not row[0].startswith(digit):
                continue
            votes[row[index["fileName"]]] = {
                "vote": row[index["emoVote"]],
                "agreement": row[index["agreement"]],
                "responses": row[index["numResponses"]],
            }
    return votes


def _check_root(root: str | Path, needed: tuple[str, ...]) -> Path:
    root = Path(root).expanduser()
    if not root.is_dir():
        what = "does not exist" if not root.exists() else "is not a folder"
        raise DataError(
            f"CREMA-D root {root} {what}: pass the folder holding {' and '.join(needed)}"
        )
    missing = [name for name in needed if not (root / name).is_dir()]
    if missing:
        raise DataError(
            f"CREMA-D root {root} lacks {', '.join(missing)}: pass the clone of the official "
            "repository (with its Git LFS files pulled)"
        )
    return root


def _files(folder: Path, suffix: str, result: ScanResult) -> dict[str, Path]:
    found = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix.lower() != suffix:
            continue
        try:
            parse_name(path.stem)
        except DataError as exc:
            result.problems.append(Problem(path, str(exc)))
            continue
        size, problem = check_size(path, "fetch it again")
        if problem is not None:
            result.problems.append(problem)
            continue
        if size < 1024:
            # A Git LFS pointer (about 130 bytes) instead of the media: `git lfs pull` was skipped.
            head = path.read_bytes()[:64]
            if head.startswith(b"version https://git-lfs"):
                result.problems.append(
                    Problem(path, "Git LFS pointer, not media: run `git lfs pull` in the clone")
                )
                continue
        found[path.stem] = path
    return found


def scan(
    root: str | Path,
    modality: str = "av",
    labels: str = "acted",
    ties: str = "skip",
) -> ScanResult:
    """Find the CREMA-D clips under ``root``.

    Parameters
    ----------
    root
        Clone of the official repository (holding ``AudioWAV`` and / or ``VideoFlash``).
    modality
        ``"av"`` (a clip needs both its ``.wav`` and ``.flv``; a clip with one of them missing is a
        :class:`Problem`), ``"audio"`` (``AudioWAV`` only) or ``"video"`` (``VideoFlash`` only;
        the FLV's own MP3 track remains available to whoever reads it).
    labels
        ``"acted"``: the emotion the actor was asked to portray (from the name). ``"voice"``,
        ``"face"`` or ``"multimodal"``: the crowd's majority vote for that rating modality from
        ``processedResults/tabulatedVotes.csv``; the acted label stays in ``meta["acted"]``.
    ties
        With perceived labels, what to do when ``emoVote`` is a tie such as ``A:D``: ``"skip"``
        (the clip becomes a :class:`Problem`, so it is counted, not silently lost) or ``"first"``
        (keep the first letter, which is alphabetical in the official file).

    Returns
    -------
    ScanResult
        Records sorted by clip id; speaker and group are ``crema-d-<actor>``. Meta holds actor,
        sentence, level, and sex / age / race / ethnicity when ``VideoDemographics.csv`` is present.
    """
    if modality not in ("av", "audio", "video"):
        raise DataError(f"CREMA-D modality {modality!r} unknown: use 'av', 'audio' or 'video'")
    if labels not in ("acted", *VOTE_MODALITY_DIGIT):
        raise DataError(
            f"CREMA-D labels {labels!r} unknown: use 'acted', 'voice', 'face' or 'multimodal'"
        )
    if ties not in ("skip", "first"):
        raise DataError(f"CREMA-D ties {ties!r} unknown: use 'skip' or 'first'")
    needed = {"av": (AUDIO_DIR, VIDEO_DIR), "audio": (AUDIO_DIR,), "video": (VIDEO_DIR,)}[modality]
    root = _check_root(root, needed)
    result = ScanResult()
    audio = _files(root / AUDIO_DIR, ".wav", result) if AUDIO_DIR in needed else {}
    video = _files(root / VIDEO_DIR, ".flv", result) if VIDEO_DIR in needed else {}
    if not audio and not video:
        raise DataError(
            f"CREMA-D root {root} holds no usable .wav/.flv under {' / '.join(needed)}: "
            "pull the media with `git lfs pull`"
        )

    demographics = {}
    if (root / DEMOGRAPHICS).is_file():
        demographics = read_demographics(root / DEMOGRAPHICS)
    votes = None
    if labels != "acted":
        if not (root / VOTES).is_file():
            raise DataError(
                f"CREMA-D labels={labels!r} needs {root / VOTES}: copy processedResults/ from "
                "the official repository, or use labels='acted'"
            )
        votes = read_votes(root / VOTES, labels)

    stems = sorted(set(audio) | set(video))
    for stem in stems:
        if modality == "av" and (stem not in audio or stem not in video):
            have, lack = (audio, VIDEO_DIR) if stem in audio else (video, AUDIO_DIR)
            result.problems.append(
                Problem(have[stem], f"no matching file in {lack}: clip skipped in av mode")
            )
            continue
        fields = parse_name(stem)
        meta = {
            "actor": fields["actor"],
            "sentence": fields["sentence"],
            "level": fields["level"],
            "acted": fields["label"],
        }
        meta.update(demographics.get(fields["actor"], {}))
        label = fields["label"]
        if votes is not None:
            row = votes.get(stem)
            path = audio.get(stem) or video[stem]
            if row is None:
                result.problems.append(Problem(path, f"no {labels} vote row in tabulatedVotes"))
                continue
            letters = row["vote"].split(":")
            if len(letters) > 1 and ties == "skip":
                result.problems.append(
                    Problem(path, f"{labels} vote tie {row['vote']}: skipped (ties='first' keeps)")
                )
                continue
            if letters[0] not in VOTE_TO_LABEL:
                result.problems.append(Problem(path, f"unknown vote {row['vote']!r}"))
                continue
            label = VOTE_TO_LABEL[letters[0]]
            meta.update(vote=row["vote"], agreement=row["agreement"], responses=row["responses"])
        speaker = f"{DATASET}-{fields['actor']}"
        result.records.append(
            ClipRecord(
                dataset=DATASET,
                clip_id=stem,
                label=label,
                speaker=speaker,
                group=speaker,
                audio_path=audio.get(stem),
                video_path=video.get(stem),
                meta=meta,
            )
        )
    return result


#: Sex comes from ``meta["sex"]`` (``VideoDemographics.csv``); without that file folds are not
#: balanced by sex.
SPEC = DatasetSpec(
    name=DATASET,
    display_name="CREMA-D",
    scan=scan,
    classes=CLASSES,
    group="actor",
    n_folds=5,  # 91 actors -> 5 folds of 18-19
)
