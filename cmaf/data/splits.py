"""Train / validation / test splits and the leakage checks that go with them.

Three protocols are provided:

``random-80-20``
    The paper's protocol (Table A1, "Random 80:20 Split"): clips are shuffled with a seed and
    80 % of each emotion class goes to training, 20 % to test (:func:`random_split`). Speakers
    appear on both sides, and in RAVDESS so do the two repetitions of one take ("twins", see
    :func:`twin_key`), which is why the paper's number is optimistic.
``held-out-actors``
    Every clip of the test actors stays out of training (:func:`held_out_folds`): RAVDESS six
    folds of four actors, CREMA-D five folds of speakers.
``leave-one-session-out``
    IEMOCAP's standard protocol: five folds, one recording session each.

A :class:`Split` holds clip ids only (``ClipRecord.clip_id``), so it can be written to a run
directory with :meth:`Split.save` and read back with :meth:`Split.load`. :func:`leakage_report`
gives the numbers the book prints for the leakage check (speakers and twins on both sides).
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from cmaf.data.records import ClipRecord

#: Protocol names stored in :attr:`Split.protocol`.
RANDOM_PROTOCOL = "random-80-20"
HELD_OUT_ACTORS = "held-out-actors"
LEAVE_ONE_SESSION_OUT = "leave-one-session-out"
HELD_OUT_SESSIONS = "held-out-sessions"
HELD_OUT_GROUPS = "held-out-groups"

#: Format version written by :meth:`Split.to_json`.
SPLIT_FORMAT = 1

#: Default fold layout per dataset: ``(n_folds, fold_size)``, one of them ``None``.
_DEFAULT_FOLDS: dict[str, tuple[int | None, int | None]] = {
    "ravdess": (None, 4),  # 24 actors -> 6 folds of 4
    "crema-d": (5, None),  # 91 speakers -> 5 folds of 18-19
    "iemocap": (None, 1),  # 5 sessions -> leave one session out
}

_RAVDESS_STEM = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")


@dataclass(frozen=True)
class Split:
    """One train / (validation) / test partition, by clip id.

    Parameters
    ----------
    name
        Human-readable identifier, e.g. ``"ravdess-held-out-actors-fold1of6"``.
    train_ids, test_ids
        Clip ids (``ClipRecord.clip_id``) of each part; stored sorted as tuples.
    protocol
        ``"random-80-20"``, ``"held-out-actors"``, ``"leave-one-session-out"``, ...
    val_ids
        Clip ids carved out of training for model selection (empty when there is none).
    test_groups
        The groups (actors / sessions) a held-out fold leaves out; empty for random splits.
    seed
        The seed that produced the split, or ``None`` for a deterministic order.
    """

    name: str
    train_ids: tuple[str, ...]
    test_ids: tuple[str, ...]
    protocol: str
    val_ids: tuple[str, ...] = ()
    test_groups: tuple[str, ...] = ()
    seed: int | None = None

    def __post_init__(self) -> None:
        for attr in ("train_ids", "test_ids", "val_ids"):
            value = getattr(self, attr)
            if isinstance(value, str):
                raise TypeError(f"Split.{attr} must be a sequence of clip ids, not a string")
            object.__setattr__(self, attr, tuple(sorted(str(v) for v in value)))
        object.__setattr__(self, "test_groups", tuple(str(g) for g in self.test_groups))

    @property
    def parts(self) -> dict[str, tuple[str, ...]]:
        """The non-empty parts by name (``"train"``, ``"val"``, ``"test"``)."""
        parts = {"train": self.train_ids, "val": self.val_ids, "test": self.test_ids}
        return {k: v for k, v in parts.items() if v or k != "val"}

    def to_json(self, indent: int | None = None) -> str:
        """Serialise to a JSON string (lists of ids, plus ``format``)."""
        payload: dict[str, Any] = {"format": SPLIT_FORMAT}
        payload.update(asdict(self))
        for key in ("train_ids", "test_ids", "val_ids", "test_groups"):
            payload[key] = list(payload[key])
        return json.dumps(payload, indent=indent)

    @classmethod
    def from_json(cls, text: str) -> Split:
        """Parse what :meth:`to_json` wrote.

        Raises
        ------
        ValueError
            If the text is not a split of a known format.
        """
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"split JSON does not parse: {exc}") from None
        if not isinstance(payload, dict):
            raise ValueError("split JSON must be an object")
        fmt = payload.pop("format", SPLIT_FORMAT)
        if fmt != SPLIT_FORMAT:
            raise ValueError(f"split JSON has format {fmt!r}; this version reads {SPLIT_FORMAT}")
        missing = {"name", "train_ids", "test_ids", "protocol"} - payload.keys()
        if missing:
            raise ValueError(f"split JSON lacks {', '.join(sorted(missing))}")
        known = {"name", "train_ids", "test_ids", "protocol", "val_ids", "test_groups", "seed"}
        unknown = payload.keys() - known
        if unknown:
            raise ValueError(f"split JSON has unknown keys {', '.join(sorted(unknown))}")
        return cls(**payload)

    def save(self, path: str | Path) -> Path:
        """Write :meth:`to_json` to ``path`` (parent directories are created)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json(indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Split:
        """Read a split written by :meth:`save`."""
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------------
# helpers


def _natural_key(text: str) -> tuple:
    """Sort key that orders ``"2"`` before ``"10"`` (``"ravdess-2"`` before ``"ravdess-10"``)."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in re.split(r"(\d+)", text)
        if part
    )


def _check_records(records: Iterable[ClipRecord]) -> list[ClipRecord]:
    records = list(records)
    if not records:
        raise ValueError("no records to split (the dataset scan found no usable clips)")
    seen: set[str] = set()
    for rec in records:
        if rec.clip_id in seen:
            raise ValueError(f"clip id {rec.clip_id!r} occurs twice; splits need unique clip ids")
        seen.add(rec.clip_id)
    return sorted(records, key=lambda r: r.clip_id)


def _index(records: Iterable[ClipRecord]) -> dict[str, ClipRecord]:
    index: dict[str, ClipRecord] = {}
    for rec in records:
        if rec.clip_id in index:
            raise ValueError(f"clip id {rec.clip_id!r} occurs twice; splits need unique clip ids")
        index[rec.clip_id] = rec
    return index


def _lookup(ids: Iterable[str], index: dict[str, ClipRecord], what: str) -> list[ClipRecord]:
    ids = list(ids)
    unknown = [i for i in ids if i not in index]
    if unknown:
        raise ValueError(
            f"{len(unknown)} {what} id(s) are not among the records (first: {unknown[0]!r}); "
            "pass the records the split was made from"
        )
    return [index[i] for i in ids]


def _names(items: Iterable[str], limit: int = 10) -> str:
    items = sorted(items, key=_natural_key)
    shown = ", ".join(items[:limit])
    return shown + (f" ... and {len(items) - limit} more" if len(items) > limit else "")


def _check_fraction(fraction: float, name: str) -> None:
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {fraction}")


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def _stratified_pick(
    records: Sequence[ClipRecord],
    fraction: float,
    rng: np.random.Generator,
    *,
    strict: bool,
) -> set[str]:
    """Pick ``fraction`` of each class (largest-remainder rounding); return the picked ids.

    With ``strict`` a class of fewer than 2 clips is an error; otherwise it is left unpicked.
    Every class of at least 2 clips gets at least one picked and one unpicked clip.
    """
    by_label: dict[str, list[ClipRecord]] = defaultdict(list)
    for rec in records:
        by_label[rec.label].append(rec)
    labels = sorted(by_label)
    small = [lab for lab in labels if len(by_label[lab]) < 2]
    if small and strict:
        lab = small[0]
        raise ValueError(
            f"class {lab!r} has {len(by_label[lab])} clip(s); a stratified split needs at least 2 "
            "per class (drop the class or pass stratify=False)"
        )
    # Largest-remainder allocation: per class floor(n_c * f) or ceil(n_c * f), the total as close
    # to round(N * f) as the per-class rounding allows; ties go to the earlier label.
    quotas = {lab: len(by_label[lab]) * fraction for lab in labels if lab not in small}
    counts = {lab: math.floor(q) for lab, q in quotas.items()}
    target = _round_half_up(sum(quotas.values()))
    leftover = target - sum(counts.values())
    order = sorted(quotas, key=lambda lab: (-(quotas[lab] - counts[lab]), labels.index(lab)))
    for lab in order[: max(leftover, 0)]:
        counts[lab] += 1
    picked: set[str] = set()
    for lab in labels:
        if lab in small:
            continue
        members = by_label[lab]  # already sorted by clip id
        k = min(max(counts[lab], 1), len(members) - 1)
        perm = rng.permutation(len(members))
        picked.update(members[i].clip_id for i in perm[:k])
    return picked


def _plain_pick(
    records: Sequence[ClipRecord], fraction: float, rng: np.random.Generator
) -> set[str]:
    if len(records) < 2:
        raise ValueError(f"cannot split {len(records)} clip(s); need at least 2")
    k = min(max(_round_half_up(len(records) * fraction), 1), len(records) - 1)
    perm = rng.permutation(len(records))
    return {records[i].clip_id for i in perm[:k]}


# --------------------------------------------------------------------------------------------
# random split


def random_split(
    records: Iterable[ClipRecord],
    test_fraction: float = 0.2,
    seed: int = 0,
    stratify: bool = True,
    name: str | None = None,
) -> Split:
    """The paper's random (stratified) 80:20 split.

    Records are first sorted by clip id, so the result depends only on the set of records and the
    seed, not on the order a loader returned them in. With ``stratify`` each emotion class is
    split on its own: its test count is ``floor`` or ``ceil`` of ``n_class * test_fraction``
    (largest-remainder rounding, so the total is ``round(N * test_fraction)`` where possible),
    and every class keeps at least one clip on each side.

    This is the protocol of Table A1 ("Random 80:20 Split"). It puts every speaker on both sides,
    and in RAVDESS the two repetitions of one take -- same actor, statement, emotion and intensity,
    the other repetition: "twins" (:func:`twin_key`) -- fall on both sides for about a third of
    the takes, so the test set holds near-duplicates of training clips. That is why the paper's
    number is optimistic; :func:`count_straddling_twins` and :func:`leakage_report` quantify it,
    and :func:`held_out_folds` gives the speaker-independent protocol.

    Parameters
    ----------
    records
        The clips to split (clip ids must be unique).
    test_fraction
        Share of clips in the test part, strictly between 0 and 1.
    seed
        Seed of the shuffle (``numpy.random.default_rng``); same seed, same split.
    stratify
        Split each label separately (the paper's setting).
    name
        Split name; default ``"<dataset>-random-80-20-seed<seed>"``.

    Returns
    -------
    Split
        With ``protocol="random-80-20"`` for the default fraction
        (``"random-<train>-<test>"`` in percent otherwise).

    Raises
    ------
    ValueError
        On no records, duplicate clip ids, a fraction outside (0, 1), or (with ``stratify``) a
        class with fewer than 2 clips.
    """
    _check_fraction(test_fraction, "test_fraction")
    recs = _check_records(records)
    rng = np.random.default_rng(seed)
    if stratify:
        test = _stratified_pick(recs, test_fraction, rng, strict=True)
    else:
        test = _plain_pick(recs, test_fraction, rng)
    train = [r.clip_id for r in recs if r.clip_id not in test]
    pct = _round_half_up(100 * test_fraction)
    protocol = f"random-{100 - pct}-{pct}"
    if name is None:
        datasets = sorted({r.dataset for r in recs})
        name = f"{'+'.join(datasets)}-{protocol}-seed{seed}"
    return Split(name=name, train_ids=train, test_ids=test, protocol=protocol, seed=seed)


# --------------------------------------------------------------------------------------------
# validation


def validation_split(
    train_ids: Iterable[str],
    records: Iterable[ClipRecord],
    fraction: float = 0.1,
    seed: int = 0,
    by: str = "random",
    stratify: bool = True,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Carve a validation part out of the training ids; the test part is never seen.

    Parameters
    ----------
    train_ids
        The training clip ids of a split (only these are divided).
    records
        Records covering at least ``train_ids`` (e.g. the whole dataset).
    fraction
        Share of the training clips (``by="random"``) or of the training groups / speakers
        (``by="group"`` / ``"speaker"``) that goes to validation, strictly between 0 and 1.
    seed
        Seed of the shuffle.
    by
        ``"random"``: clips drawn at random, stratified by label when ``stratify`` (a class with a
        single training clip keeps it in training). ``"group"``: whole ``record.group`` units
        (actors; IEMOCAP sessions) go to validation. ``"speaker"``: whole ``record.speaker`` units
        (for IEMOCAP, where a session is two speakers).
    stratify
        Only for ``by="random"``.

    Returns
    -------
    (train_ids, val_ids)
        Both sorted; together exactly the input ``train_ids``.

    Raises
    ------
    ValueError
        On empty ``train_ids``, ids missing from ``records``, a bad ``by`` or ``fraction``, or
        fewer than 2 groups / speakers for a grouped validation.
    """
    _check_fraction(fraction, "fraction")
    ids = sorted(set(train_ids))
    if not ids:
        raise ValueError("no training ids to carve a validation part from")
    recs = _lookup(ids, _index(records), "training")
    rng = np.random.default_rng(seed)
    if by == "random":
        if stratify:
            val = _stratified_pick(recs, fraction, rng, strict=False)
        else:
            val = _plain_pick(recs, fraction, rng)
    elif by in ("group", "speaker"):
        unit_of: Callable[[ClipRecord], str] = (
            (lambda r: r.group) if by == "group" else (lambda r: r.speaker)
        )
        units = sorted({unit_of(r) for r in recs}, key=_natural_key)
        if len(units) < 2:
            raise ValueError(
                f"validation by {by} needs at least 2 {by}s in training, found {len(units)}"
            )
        k = min(max(_round_half_up(len(units) * fraction), 1), len(units) - 1)
        chosen = {units[i] for i in rng.permutation(len(units))[:k]}
        val = {r.clip_id for r in recs if unit_of(r) in chosen}
    else:
        raise ValueError(f"by must be 'random', 'group' or 'speaker', got {by!r}")
    train = tuple(i for i in ids if i not in val)
    return train, tuple(sorted(val))


def with_validation(
    split: Split,
    records: Iterable[ClipRecord],
    fraction: float = 0.1,
    seed: int = 0,
    by: str = "random",
    stratify: bool = True,
) -> Split:
    """Return ``split`` with a validation part carved out of its training ids.

    See :func:`validation_split` for the parameters. Raises ``ValueError`` if the split already
    has a validation part.
    """
    if split.val_ids:
        raise ValueError(f"split {split.name!r} already has a validation part")
    train, val = validation_split(split.train_ids, records, fraction, seed, by, stratify)
    return replace(split, train_ids=train, val_ids=val)


# --------------------------------------------------------------------------------------------
# held-out folds


def _sex_of(rec: ClipRecord) -> str | None:
    for key in ("sex", "gender"):
        value = rec.meta.get(key, "").strip().lower()
        if value in ("m", "male", "man"):
            return "M"
        if value in ("f", "female", "woman"):
            return "F"
    if rec.dataset == "ravdess":  # RAVDESS: odd-numbered actors are male, even female
        actor = _ravdess_fields(rec, required=False).get("actor")
        if actor and actor.isdigit():
            return "M" if int(actor) % 2 else "F"
    return None


def _group_sexes(by_group: dict[str, list[ClipRecord]]) -> dict[str, str] | None:
    """Sex of each group, or ``None`` if any group's is unknown or mixed (IEMOCAP sessions)."""
    sexes: dict[str, str] = {}
    for group, recs in by_group.items():
        found = {_sex_of(r) for r in recs}
        if len(found) != 1 or None in found:
            return None
        sexes[group] = found.pop()
    return sexes


def _deal_by_sex(groups: list[str], sexes: dict[str, str], n_folds: int) -> list[list[str]]:
    """Deal groups round-robin, all of one sex then the other, so folds mix sexes evenly."""
    ordered = [g for g in groups if sexes[g] == "M"] + [g for g in groups if sexes[g] == "F"]
    folds: list[list[str]] = [[] for _ in range(n_folds)]
    for i, g in enumerate(ordered):
        folds[i % n_folds].append(g)
    return [sorted(f, key=_natural_key) for f in folds]


def held_out_folds(
    records: Iterable[ClipRecord],
    n_folds: int | None = None,
    fold_size: int | None = None,
    seed: int | None = None,
) -> list[Split]:
    """Speaker-independent folds: each fold's test part is every clip of some ``record.group``.

    Groups are the actors for RAVDESS and CREMA-D and the sessions for IEMOCAP. A group is wholly
    in test or wholly in training, so no test speaker (and no RAVDESS twin of a test clip) is
    ever trained on. Over the folds every record is tested exactly once.

    Defaults per dataset (when neither ``n_folds`` nor ``fold_size`` is given): RAVDESS
    ``fold_size=4`` (6 folds of 4 actors), CREMA-D ``n_folds=5`` (folds of 18-19 speakers),
    IEMOCAP ``fold_size=1`` (leave one session out: 5 folds); any other dataset 5 folds.

    Fold assignment:

    * ``seed=None`` (default): groups in natural order (``2`` before ``10``) are cut into
      contiguous blocks whose sizes differ by at most one -- RAVDESS actors 1-4, 5-8, ..., 21-24,
      each block two male (odd) and two female (even) actors.
    * ``seed`` given: groups are shuffled with that seed first.

    When every group has a known sex (``meta["sex"]`` / ``meta["gender"]``, or the RAVDESS actor
    parity) and both sexes have at least ``n_folds`` groups, a fold without both sexes is avoided:
    if the blocks above would leave one single-sex, the (shuffled or natural-order) groups are
    instead dealt round-robin, all males then all females, which spreads each sex evenly.

    Parameters
    ----------
    records
        Clips of one dataset, each with a non-empty ``group``.
    n_folds
        Number of folds (at most the number of groups).
    fold_size
        Groups per fold instead; ``n_folds = ceil(n_groups / fold_size)``. If both are given they
        must agree.
    seed
        ``None`` for the deterministic natural order, or a seed for a shuffled assignment.

    Returns
    -------
    list of Split
        One per fold, named ``"<dataset>-<protocol>-fold<i>of<n>"`` with ``test_groups`` set;
        protocol ``"held-out-actors"`` (RAVDESS, CREMA-D), ``"leave-one-session-out"`` (IEMOCAP,
        one session per fold), ``"held-out-sessions"`` (IEMOCAP, several) or
        ``"held-out-groups"`` (other datasets).

    Raises
    ------
    ValueError
        On no records, duplicate ids, mixed datasets, a record without a group, fewer than 2
        groups, or more folds than groups.
    """
    recs = _check_records(records)
    datasets = sorted({r.dataset for r in recs})
    if len(datasets) != 1:
        raise ValueError(f"held-out folds need records of one dataset, got {', '.join(datasets)}")
    dataset = datasets[0]
    by_group: dict[str, list[ClipRecord]] = defaultdict(list)
    for rec in recs:
        if not rec.group:
            raise ValueError(f"clip {rec.clip_id!r} has no group; held-out folds group on it")
        by_group[rec.group].append(rec)
    groups = sorted(by_group, key=_natural_key)
    n_groups = len(groups)
    if n_groups < 2:
        raise ValueError(f"held-out folds need at least 2 groups, found {n_groups}")

    if n_folds is None and fold_size is None:
        n_folds, fold_size = _DEFAULT_FOLDS.get(dataset, (5, None))
    if fold_size is not None:
        if fold_size < 1:
            raise ValueError(f"fold_size must be at least 1, got {fold_size}")
        implied = math.ceil(n_groups / fold_size)
        if n_folds is not None and n_folds != implied:
            raise ValueError(
                f"n_folds={n_folds} and fold_size={fold_size} disagree for {n_groups} groups "
                f"(fold_size {fold_size} gives {implied} folds); pass only one"
            )
        n_folds = implied
    assert n_folds is not None
    if n_folds < 2:
        raise ValueError(f"n_folds must be at least 2, got {n_folds}")
    if n_folds > n_groups:
        raise ValueError(
            f"n_folds={n_folds} is more than the {n_groups} groups in {dataset}; "
            f"use at most {n_groups}"
        )

    if seed is not None:
        rng = np.random.default_rng(seed)
        groups = [groups[i] for i in rng.permutation(n_groups)]
    blocks = [list(b) for b in np.array_split(np.array(groups, dtype=object), n_folds)]
    fold_groups = [sorted((str(g) for g in b), key=_natural_key) for b in blocks]

    sexes = _group_sexes(by_group)
    if sexes is not None:
        n_male = sum(1 for s in sexes.values() if s == "M")
        possible = min(n_male, n_groups - n_male) >= n_folds
        if possible and any(len({sexes[g] for g in f}) < 2 for f in fold_groups):
            fold_groups = _deal_by_sex(groups, sexes, n_folds)

    if dataset == "iemocap":
        one_each = all(len(f) == 1 for f in fold_groups)
        protocol = LEAVE_ONE_SESSION_OUT if one_each else HELD_OUT_SESSIONS
    elif dataset in ("ravdess", "crema-d"):
        protocol = HELD_OUT_ACTORS
    else:
        protocol = HELD_OUT_GROUPS

    splits = []
    for i, test_groups in enumerate(fold_groups):
        held = set(test_groups)
        test = [r.clip_id for r in recs if r.group in held]
        train = [r.clip_id for r in recs if r.group not in held]
        splits.append(
            Split(
                name=f"{dataset}-{protocol}-fold{i + 1}of{n_folds}",
                train_ids=train,
                test_ids=test,
                protocol=protocol,
                test_groups=tuple(test_groups),
                seed=seed,
            )
        )
    return splits


# --------------------------------------------------------------------------------------------
# twins


#: RAVDESS codes by the names the loader (:mod:`cmaf.data.ravdess`) writes into ``meta``, so a
#: key built from ``meta`` equals one parsed from a file stem.
_RAVDESS_CODES: dict[str, dict[str, str]] = {
    "channel": {"speech": "01", "song": "02"},
    "intensity": {"normal": "01", "strong": "02"},
    "emotion": {
        name: f"{i:02d}"
        for i, name in enumerate(
            ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"), 1
        )
    },
}


def _ravdess_fields(rec: ClipRecord, *, required: bool = True) -> dict[str, str]:
    """Actor, vocal channel, emotion, intensity, statement of a RAVDESS record, as codes.

    Taken from ``meta`` where present (``actor``, ``vocal_channel``, ``emotion_code`` /
    ``emotion``, ``intensity``, ``statement``; names such as ``"strong"`` or ``"speech"`` are
    turned into their two-digit codes), else parsed from a ``MM-VV-EE-II-SS-RR-AA`` clip id; the
    actor falls back to the speaker suffix and the emotion to the label.
    """
    fields: dict[str, str] = {}
    match = _RAVDESS_STEM.match(rec.clip_id)
    if match:
        _, channel, emotion, intensity, statement, _, actor = match.groups()
        fields = {
            "actor": actor,
            "channel": channel,
            "emotion": emotion,
            "intensity": intensity,
            "statement": statement,
        }
    meta = rec.meta
    for key, meta_keys in (
        ("actor", ("actor",)),
        ("channel", ("vocal_channel", "channel")),
        ("emotion", ("emotion_code", "emotion")),
        ("intensity", ("intensity",)),
        ("statement", ("statement",)),
    ):
        for mk in meta_keys:
            if meta.get(mk):
                fields[key] = str(meta[mk]).strip()
                break
    if "actor" not in fields and rec.speaker:
        fields["actor"] = rec.speaker.rsplit("-", 1)[-1]
    if "emotion" not in fields and rec.label:
        fields["emotion"] = rec.label
    for key, codes in _RAVDESS_CODES.items():
        if key in fields:
            fields[key] = codes.get(fields[key].lower(), fields[key])
    for key in ("actor", "statement"):
        if key in fields and fields[key].isdigit():
            fields[key] = f"{int(fields[key]):02d}"
    if required:
        missing = [k for k in ("actor", "emotion", "intensity", "statement") if k not in fields]
        if missing:
            raise ValueError(
                f"RAVDESS clip {rec.clip_id!r} lacks {', '.join(missing)} in meta and its id is "
                "not a RAVDESS file stem; cannot find its twin"
            )
    return fields


def twin_key(record: ClipRecord) -> Hashable | None:
    """Key shared by a clip and its "twins" (near-duplicate recordings), or ``None``.

    * RAVDESS: every take is recorded twice (repetition 01 and 02). The two clips with the same
      actor, emotion, intensity and statement (and vocal channel, when known) are twins; the key
      is ``("ravdess", actor, channel, emotion, intensity, statement)``. Fields come from
      ``meta`` (``actor``, ``emotion_code`` or ``emotion``, ``intensity``, ``statement``,
      optionally ``vocal_channel``; the loader's names like ``"strong"`` become codes) or, failing
      that, from the file-stem clip id. A song and a speech take are not twins.
    * CREMA-D: actor + sentence + emotion + level is unique per clip, so there are no twins:
      ``None``.
    * IEMOCAP (and any other dataset): no twins: ``None``.

    Raises
    ------
    ValueError
        For a RAVDESS record whose intensity / statement cannot be found.
    """
    if record.dataset != "ravdess":
        return None
    f = _ravdess_fields(record)
    return ("ravdess", f["actor"], f.get("channel", ""), f["emotion"], f["intensity"],
            f["statement"])  # fmt: skip


def _twin_groups(records: Iterable[ClipRecord]) -> dict[Hashable, list[ClipRecord]]:
    groups: dict[Hashable, list[ClipRecord]] = defaultdict(list)
    for rec in records:
        key = twin_key(rec)
        if key is not None:
            groups[key].append(rec)
    return {k: v for k, v in groups.items() if len(v) > 1}


def count_straddling_twins(split: Split, records: Iterable[ClipRecord]) -> int:
    """Number of twin groups with a clip in test and a clip in training (or validation).

    In RAVDESS a twin group is the pair of repetitions of one take, so this is the number of
    takes whose other repetition the model could have seen. Records not in the split are
    ignored; split ids missing from ``records`` raise ``ValueError``.
    """
    index = _index(records)
    test = set(split.test_ids)
    rest = set(split.train_ids) | set(split.val_ids)
    in_split = _lookup(sorted(test | rest), index, "split")
    count = 0
    for members in _twin_groups(in_split).values():
        ids = {r.clip_id for r in members}
        if ids & test and ids & rest:
            count += 1
    return count


# --------------------------------------------------------------------------------------------
# leakage checks


def assert_disjoint(split: Split) -> None:
    """Raise ``ValueError`` if a clip id is in two parts (train / val / test) of ``split``."""
    parts = {"train": split.train_ids, "val": split.val_ids, "test": split.test_ids}
    names = list(parts)
    for i, a in enumerate(names):
        if len(set(parts[a])) != len(parts[a]):
            raise ValueError(f"split {split.name!r}: the {a} part lists a clip id twice")
        for b in names[i + 1 :]:
            both = set(parts[a]) & set(parts[b])
            if both:
                raise ValueError(
                    f"split {split.name!r}: {len(both)} clip id(s) in both {a} and {b}: "
                    f"{_names(both)}"
                )


def speaker_overlap(split: Split, records: Iterable[ClipRecord]) -> set[str]:
    """Speakers with clips in test and in training or validation (empty for held-out folds)."""
    index = _index(records)
    test = {r.speaker for r in _lookup(split.test_ids, index, "test")}
    rest = {r.speaker for r in _lookup(split.train_ids + split.val_ids, index, "training")}
    return test & rest


def assert_no_speaker_overlap(split: Split, records: Iterable[ClipRecord]) -> None:
    """Raise ``ValueError`` naming the speakers found in both test and training / validation."""
    both = speaker_overlap(split, records)
    if both:
        raise ValueError(
            f"split {split.name!r}: {len(both)} speaker(s) in both test and training: "
            f"{_names(both)}"
        )


def leakage_report(split: Split, records: Iterable[ClipRecord]) -> dict[str, Any]:
    """Numbers for the book's leakage check (JSON-serialisable).

    Returns
    -------
    dict
        ``name``, ``protocol``, ``n_train``, ``n_val``, ``n_test``, ``n_speakers_train`` (training
        plus validation), ``n_speakers_test``, ``speakers_both_sides`` (sorted list),
        ``n_speakers_both_sides``, ``n_twin_groups`` (twin groups inside the split),
        ``twins_straddling`` (:func:`count_straddling_twins`) and ``ids_in_two_parts``.
    """
    recs = list(records)
    index = _index(recs)
    test = _lookup(split.test_ids, index, "test")
    rest = _lookup(split.train_ids + split.val_ids, index, "training")
    both = speaker_overlap(split, recs)
    parts = [set(split.train_ids), set(split.val_ids), set(split.test_ids)]
    dup = (parts[0] & parts[1]) | (parts[0] & parts[2]) | (parts[1] & parts[2])
    return {
        "name": split.name,
        "protocol": split.protocol,
        "n_train": len(split.train_ids),
        "n_val": len(split.val_ids),
        "n_test": len(split.test_ids),
        "n_speakers_train": len({r.speaker for r in rest}),
        "n_speakers_test": len({r.speaker for r in test}),
        "speakers_both_sides": sorted(both, key=_natural_key),
        "n_speakers_both_sides": len(both),
        "n_twin_groups": len(_twin_groups(test + rest)),
        "twins_straddling": count_straddling_twins(split, recs),
        "ids_in_two_parts": len(dup),
    }


__all__ = [
    "HELD_OUT_ACTORS",
    "HELD_OUT_GROUPS",
    "HELD_OUT_SESSIONS",
    "LEAVE_ONE_SESSION_OUT",
    "RANDOM_PROTOCOL",
    "Split",
    "assert_disjoint",
    "assert_no_speaker_overlap",
    "count_straddling_twins",
    "held_out_folds",
    "leakage_report",
    "random_split",
    "speaker_overlap",
    "twin_key",
    "validation_split",
    "with_validation",
]
