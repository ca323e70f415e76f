"""CREMA-D loader (Cao et al. 2014), for a clone of the official repository
(CheyneyComputerScience/CREMA-D) with its Git LFS media pulled.

``AudioWAV/<stem>.wav`` is 16 kHz mono PCM; ``VideoFlash/<stem>.flv`` holds a data stream, then
VP6 video and MP3 audio. A stem is ``ACTOR_SENTENCE_EMOTION_LEVEL`` (``1001_DFA_ANG_XX``; level
XX: unspecified). ``VideoDemographics.csv`` (optional) gives each actor's sex, age, race and
ethnicity. ``processedResults/tabulatedVotes.csv`` (optional; format as in the repository's
``readTabulatedVotes.R``, commit 63f0471) gives the crowd's perceived labels: an unnamed first
column of row names whose first digit is the rating modality (1 voice, 2 face, 3 audio-visual),
vote counts ``A, D, F, H, N, S``, ``fileName``, ``numResponses``, ``agreement`` and ``emoVote``
(the majority letter, or tied letters joined by ``:``). Both headers are checked strictly.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from cmaf.data.records import ClipRecord, DataError, Problem, ScanResult, check_size
from cmaf.data.spec import DatasetSpec, check_choice, check_root

DATASET = "crema-d"

#: Emotion codes in the order of :data:`CLASSES` (alphabetical by code, as the paper's Table 2).
EMOTION_CODES: tuple[str, ...] = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")

#: Canonical labels, index-aligned with :data:`EMOTION_CODES`, worded as RAVDESS's.
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
    """Decode a stem such as ``"1001_DFA_ANG_XX"``; a one-line :class:`DataError` if malformed.

    Returns ``actor``, ``sentence`` and ``emotion`` (codes), ``label`` and ``level`` (``low``,
    ``medium``, ``high`` or ``unspecified``).
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
    """``VideoDemographics.csv`` as ``{actor: {"age", "sex", "race", "ethnicity"}}``.

    Sex is lower-cased (``male`` / ``female``) as in RAVDESS's meta.
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
        return {
            row["ActorID"].strip(): {
                "age": row["Age"].strip(),
                "sex": row["Sex"].strip().lower(),
                "race": row["Race"].strip(),
                "ethnicity": row["Ethnicity"].strip(),
            }
            for row in reader
        }


def read_votes(path: str | Path, rating: str) -> dict[str, dict[str, str]]:
    """One rating modality's rows of ``tabulatedVotes.csv``, by clip stem.

    ``rating`` is ``"voice"``, ``"face"`` or ``"multimodal"``; a row is ``{"vote": emoVote,
    "agreement": ..., "responses": numResponses}``.
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
        return {
            row[index["fileName"]]: {
                "vote": row[index["emoVote"]],
                "agreement": row[index["agreement"]],
                "responses": row[index["numResponses"]],
            }
            for row in reader
            if row and row[0].startswith(digit)
        }


def _files(folder: Path, suffix: str, result: ScanResult) -> dict[str, Path]:
    """Usable media files of ``folder`` by stem; the others become problems in ``result``."""
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
        # A Git LFS pointer (about 130 bytes) instead of the media: `git lfs pull` was skipped.
        if size < 1024 and path.read_bytes()[:64].startswith(b"version https://git-lfs"):
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
    """Find the CREMA-D clips under ``root``, the clone of the official repository.

    Parameters
    ----------
    modality
        ``"av"`` (a clip needs its ``.wav`` and its ``.flv``; one without the other is a
        :class:`Problem`), ``"audio"`` (``AudioWAV`` only) or ``"video"`` (``VideoFlash`` only).
    labels
        ``"acted"``: the emotion the actor portrayed (from the name). ``"voice"``, ``"face"`` or
        ``"multimodal"``: the crowd's majority vote in that rating modality; the acted label
        stays in ``meta["acted"]``.
    ties
        For a tied vote (``A:D``): ``"skip"`` the clip (a :class:`Problem`) or keep the
        ``"first"`` letter (alphabetical in the official file).

    Returns
    -------
    ScanResult
        Records sorted by clip id; speaker and group are ``crema-d-<actor>``. Meta holds actor,
        sentence, level, and sex / age / race / ethnicity when ``VideoDemographics.csv`` is present.
    """
    check_choice("CREMA-D", "modality", modality, ("av", "audio", "video"))
    check_choice("CREMA-D", "labels", labels, ("acted", *VOTE_MODALITY_DIGIT))
    check_choice("CREMA-D", "ties", ties, ("skip", "first"))
    needed = {"av": (AUDIO_DIR, VIDEO_DIR), "audio": (AUDIO_DIR,), "video": (VIDEO_DIR,)}[modality]
    root = check_root(root, "CREMA-D", f"the folder holding {' and '.join(needed)}")
    missing = [name for name in needed if not (root / name).is_dir()]
    if missing:
        raise DataError(
            f"CREMA-D root {root} lacks {', '.join(missing)}: pass the clone of the official "
            "repository (with its Git LFS files pulled)"
        )
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

    for stem in sorted(set(audio) | set(video)):
        if modality == "av" and (stem not in audio or stem not in video):
            have, lack = (audio, VIDEO_DIR) if stem in audio else (video, AUDIO_DIR)
            result.problems.append(
                Problem(have[stem], f"no matching file in {lack}: clip skipped in av mode")
            )
            continue
        fields = parse_name(stem)
        label = fields["label"]
        meta = {k: fields[k] for k in ("actor", "sentence", "level")}
        meta["acted"] = label
        meta.update(demographics.get(fields["actor"], {}))
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


#: Sex comes from ``VideoDemographics.csv``; without it folds are not balanced by sex.
SPEC = DatasetSpec(
    name=DATASET,
    display_name="CREMA-D",
    scan=scan,
    classes=CLASSES,
    group="actor",
    n_folds=5,  # 91 actors -> 5 folds of 18-19
)
