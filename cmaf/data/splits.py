"""Train / validation / test splits and the leakage checks that go with them.

Three kinds of protocol are provided:

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

Each dataset's fold layout, sex and twin keys come from its spec (:mod:`cmaf.data.registry`);
the drawing is scikit-learn's (``train_test_split``, ``GroupShuffleSplit``,
``StratifiedGroupKFold``). A :class:`Split` holds clip ids only (``ClipRecord.clip_id``), so it
can be written to a run directory with :meth:`Split.save` and read back with :meth:`Split.load`.
:func:`leakage_report` gives the numbers the book prints for the leakage check (speakers and
twins on both sides).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import MISSING, asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from cmaf.data.records import ClipRecord
from cmaf.data.registry import SPECS
from cmaf.data.spec import sex_from_meta

#: Protocol names stored in :attr:`Split.protocol` (held-out ones come from the dataset's
#: ``group``: ``held-out-<group>s``, or ``leave-one-<group>-out`` with one group per fold).
RANDOM_PROTOCOL = "random-80-20"
HELD_OUT_ACTORS = "held-out-actors"
LEAVE_ONE_SESSION_OUT = "leave-one-session-out"

#: Format version written by :meth:`Split.to_json`.
SPLIT_FORMAT = 1


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
        return json.dumps({"format": SPLIT_FORMAT, **asdict(self)}, indent=indent)

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
        known = {f.name: f.default is MISSING for f in fields(cls)}
        missing = sorted(k for k, required in known.items() if required and k not in payload)
        if missing:
            raise ValueError(f"split JSON lacks {', '.join(missing)}")
        unknown = sorted(payload.keys() - known.keys())
        if unknown:
            raise ValueError(f"split JSON has unknown keys {', '.join(unknown)}")
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


def _index(records: Iterable[ClipRecord]) -> dict[str, ClipRecord]:
    index: dict[str, ClipRecord] = {}
    for rec in records:
        if rec.clip_id in index:
            raise ValueError(f"clip id {rec.clip_id!r} occurs twice; splits need unique clip ids")
        index[rec.clip_id] = rec
    return index


def _check_records(records: Iterable[ClipRecord]) -> list[ClipRecord]:
    """The records sorted by clip id, so a split depends on the set of records, not its order."""
    index = _index(records)
    if not index:
        raise ValueError("no records to split (the dataset scan found no usable clips)")
    return [index[i] for i in sorted(index)]


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


def _share(n: int, fraction: float) -> int:
    """``ceil(n * fraction)`` as scikit-learn rounds a fractional size, without float noise."""
    return math.ceil(round(n * fraction, 9))


def _draw(
    records: Sequence[ClipRecord], fraction: float, seed: int, stratify: bool, *, strict: bool
) -> set[str]:
    """Clip ids of a seeded draw of ``ceil(N * fraction)`` records (``train_test_split``).

    With ``stratify`` each class gives the floor or ceil of its share (scikit-learn's
    ``StratifiedShuffleSplit``); a class of one clip is an error with ``strict``, else it stays
    undrawn. Both sides keep at least one clip (with ``stratify``: as many as there are classes).
    """
    from sklearn.model_selection import train_test_split

    labels = None
    if stratify:
        counts = Counter(r.label for r in records)
        rare = sorted(label for label, n in counts.items() if n < 2)
        if rare and strict:
            raise ValueError(
                f"class {rare[0]!r} has {counts[rare[0]]} clip(s); a stratified split needs at "
                "least 2 per class (drop the class or pass stratify=False)"
            )
        records = [r for r in records if counts[r.label] >= 2]
        if not records:
            return set()
        labels = [r.label for r in records]
    elif len(records) < 2:
        raise ValueError(f"cannot split {len(records)} clip(s); need at least 2")
    n_classes = len(set(labels or [""]))
    k = min(max(_share(len(records), fraction), n_classes), len(records) - n_classes)
    ids = [r.clip_id for r in records]
    return set(train_test_split(ids, test_size=k, random_state=seed, stratify=labels)[1])


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
    seed, not on the order a loader returned them in. The test part holds
    ``ceil(N * test_fraction)`` clips (scikit-learn's ``train_test_split``); with ``stratify``
    each emotion class gives the floor or ceil of its share.

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
        Seed of the shuffle (``random_state``); same seed, same split.
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
    test = _draw(recs, test_fraction, seed, stratify, strict=True)
    pct = math.floor(100 * test_fraction + 0.5)
    protocol = f"random-{100 - pct}-{pct}"
    if name is None:
        name = f"{'+'.join(sorted({r.dataset for r in recs}))}-{protocol}-seed{seed}"
    train = [r.clip_id for r in recs if r.clip_id not in test]
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
        (``by="group"`` / ``"speaker"``) that goes to validation, strictly between 0 and 1
        (rounded up, as scikit-learn does).
    seed
        Seed of the shuffle.
    by
        ``"random"``: clips drawn at random, stratified by label when ``stratify`` (a class with a
        single training clip keeps it in training). ``"group"``: whole ``record.group`` units
        (actors; IEMOCAP sessions) go to validation (``GroupShuffleSplit``). ``"speaker"``: whole
        ``record.speaker`` units (for IEMOCAP, where a session is two speakers).
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
    if by == "random":
        val = _draw(recs, fraction, seed, stratify, strict=False)
    elif by in ("group", "speaker"):
        from sklearn.model_selection import GroupShuffleSplit

        units = [r.group if by == "group" else r.speaker for r in recs]
        n = len(set(units))
        if n < 2:
            raise ValueError(f"validation by {by} needs at least 2 {by}s in training, found {n}")
        draw = GroupShuffleSplit(1, test_size=min(_share(n, fraction), n - 1), random_state=seed)
        val = {ids[i] for i in next(draw.split(ids, groups=units))[1]}
    else:
        raise ValueError(f"by must be 'random', 'group' or 'speaker', got {by!r}")
    return tuple(i for i in ids if i not in val), tuple(sorted(val))


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

    The default layout is the dataset's spec (:mod:`cmaf.data.registry`): RAVDESS
    ``fold_size=4`` (6 folds of 4 actors), CREMA-D ``n_folds=5`` (folds of 18-19 speakers),
    IEMOCAP ``fold_size=1`` (leave one session out: 5 folds); any other dataset 5 folds.

    Fold assignment: with one group per fold, the folds are the groups in natural order (``2``
    before ``10``). Otherwise scikit-learn's ``StratifiedGroupKFold`` deals the groups (in
    natural order, or shuffled with ``seed``) so that the folds hold as many clips as possible
    alike and, when every group has one known sex (the spec's ``sex``: ``meta["sex"]``, RAVDESS's
    actor parity) and each sex has at least ``n_folds`` groups, an equal share of each sex:
    RAVDESS folds of two male and two female actors. Folds are listed by their first group in
    natural order.

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
        protocol ``held-out-<group>s``, or ``leave-one-<group>-out`` with one group per fold
        (``held-out-actors``, ``leave-one-session-out``; ``group`` for datasets outside the
        registry).

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
    dataset, spec = datasets[0], SPECS.get(datasets[0])
    ungrouped = [r.clip_id for r in recs if not r.group]
    if ungrouped:
        raise ValueError(f"clip {ungrouped[0]!r} has no group; held-out folds group on it")
    groups = [r.group for r in recs]
    names = sorted(set(groups), key=_natural_key)
    n_groups = len(names)
    if n_groups < 2:
        raise ValueError(f"held-out folds need at least 2 groups, found {n_groups}")
    if n_folds is None and fold_size is None:
        n_folds, fold_size = (spec.n_folds, spec.fold_size) if spec else (5, None)
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

    if n_folds == n_groups:
        fold_groups = [[g] for g in names]
    else:
        from sklearn.model_selection import StratifiedGroupKFold

        sex_of = spec.sex if spec else sex_from_meta
        sexes: dict[str, set[str | None]] = defaultdict(set)
        for rec in recs:
            sexes[rec.group].add(sex_of(rec))
        # Balance the sexes when every group has one and each sex can reach every fold.
        count = Counter(next(iter(s)) if len(s) == 1 else None for s in sexes.values())
        balance = min(count["M"], count["F"]) >= n_folds and not count[None]
        strata = [next(iter(sexes[g])) if balance else "" for g in groups]
        folds = StratifiedGroupKFold(n_folds, shuffle=seed is not None, random_state=seed)
        tests = [test for _, test in folds.split(groups, strata, groups)]
        fold_groups = sorted(
            (sorted({groups[i] for i in test}, key=_natural_key) for test in tests),
            key=lambda f: _natural_key(f[0]),
        )
    unit = spec.group if spec else "group"
    protocol = f"leave-one-{unit}-out" if n_folds == n_groups else f"held-out-{unit}s"
    return [
        Split(
            name=f"{dataset}-{protocol}-fold{i + 1}of{n_folds}",
            train_ids=[r.clip_id for r in recs if r.group not in held],
            test_ids=[r.clip_id for r in recs if r.group in held],
            protocol=protocol,
            test_groups=tuple(held),
            seed=seed,
        )
        for i, held in enumerate(fold_groups)
    ]


# --------------------------------------------------------------------------------------------
# twins


def twin_key(record: ClipRecord) -> Hashable | None:
    """Key shared by a clip and its "twins" (near-duplicate recordings), or ``None``.

    The dataset's spec says what a twin is. RAVDESS: every take is recorded twice (repetition 01
    and 02); the two clips of one prompt -- actor, vocal channel, emotion, intensity, statement --
    are twins (:func:`cmaf.data.ravdess.twin_key`, from the file-stem clip id or ``meta``). CREMA-D
    (actor + sentence + emotion + level is unique per clip), IEMOCAP and datasets outside the
    registry have no twins: ``None``.

    Raises
    ------
    ValueError
        For a RAVDESS record whose intensity / statement cannot be found.
    """
    spec = SPECS.get(record.dataset)
    key = spec.twin_key(record) if spec else None
    return None if key is None else (record.dataset, key)


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
    test = set(split.test_ids)
    rest = set(split.train_ids) | set(split.val_ids)
    in_split = _lookup(sorted(test | rest), _index(records), "split")
    sides = [{r.clip_id in test for r in members} for members in _twin_groups(in_split).values()]
    return sum(len(s) == 2 for s in sides)


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
