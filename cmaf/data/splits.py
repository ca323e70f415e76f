"""Train / validation / test splits and the leakage checks that go with them.

``random-80-20`` is the paper's protocol (Table A1): 80 % of each emotion class to training,
20 % to test (:func:`random_split`); speakers, and RAVDESS's "twins" (:func:`twin_key`), fall on
both sides. Held-out protocols (:func:`held_out_folds`) keep every clip of the test groups out
of training: ``held-out-actors`` (RAVDESS, CREMA-D), ``leave-one-session-out`` (IEMOCAP). The
fold layout, sexes and twin keys come from each dataset's spec (:mod:`cmaf.data.registry`); the
drawing is scikit-learn's. A :class:`Split` holds clip ids only, so it can be saved to a run
directory; :func:`leakage_report` gives the numbers the book prints for the leakage check.
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

#: Protocol names of held-out folds (from the dataset's ``group``, see :func:`held_out_folds`).
HELD_OUT_ACTORS = "held-out-actors"
LEAVE_ONE_SESSION_OUT = "leave-one-session-out"

#: Format version written by :meth:`Split.to_json`.
SPLIT_FORMAT = 1


@dataclass(frozen=True)
class Split:
    """One train / (validation) / test partition, by clip id (each part stored sorted).

    ``test_groups`` are the groups a held-out fold leaves out (empty for a random split);
    ``seed`` is the seed that drew the split, ``None`` for a deterministic one.
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

    def to_json(self, indent: int | None = None) -> str:
        """Serialise to a JSON string (lists of ids, plus ``format``)."""
        return json.dumps({"format": SPLIT_FORMAT, **asdict(self)}, indent=indent)

    @classmethod
    def from_json(cls, text: str) -> Split:
        """Parse what :meth:`to_json` wrote; ``ValueError`` if it is not a split of this format."""
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


def _natural_key(text: str) -> tuple:
    """Sort key that orders ``"2"`` before ``"10"`` (``"ravdess-2"`` before ``"ravdess-10"``)."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in re.split(r"(\d+)", text)
        if part
    )


def _index(records: Iterable[ClipRecord]) -> dict[str, ClipRecord]:
    """Records by clip id; clip ids must be unique."""
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
    """The records of ``ids``; a ``ValueError`` if one is missing."""
    ids = list(ids)
    unknown = [i for i in ids if i not in index]
    if unknown:
        raise ValueError(
            f"{len(unknown)} {what} id(s) are not among the records (first: {unknown[0]!r}); "
            "pass the records the split was made from"
        )
    return [index[i] for i in ids]


def _names(items: Iterable[str], limit: int = 10) -> str:
    """The first ``limit`` items in natural order, for an error message."""
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

    With ``stratify`` each class gives the floor or ceil of its share; a class of one clip is an
    error with ``strict``, else it stays undrawn. Each side keeps at least one clip per class.
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


def random_split(
    records: Iterable[ClipRecord],
    test_fraction: float = 0.2,
    seed: int = 0,
    stratify: bool = True,
    name: str | None = None,
) -> Split:
    """The paper's random 80:20 split (Table A1), stratified by label unless told otherwise.

    The test part holds ``ceil(N * test_fraction)`` clips, drawn with ``seed`` from the records
    sorted by clip id, so the split depends on the set of records, not their order. It puts
    every speaker, and many twins (:func:`twin_key`), on both sides: :func:`leakage_report`
    measures it.

    The split is named ``"<dataset>-<protocol>-seed<seed>"`` unless ``name`` is given; the
    protocol is ``random-<train>-<test>`` in percent (``random-80-20``). ``ValueError`` on no
    records, duplicate clip ids, a fraction outside (0, 1), or (with ``stratify``) a class with
    fewer than 2 clips.
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


def validation_split(
    train_ids: Iterable[str],
    records: Iterable[ClipRecord],
    fraction: float = 0.1,
    seed: int = 0,
    by: str = "random",
    stratify: bool = True,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Carve a validation part out of ``train_ids``; the test part is never seen.

    Parameters
    ----------
    records
        Records covering at least ``train_ids`` (e.g. the whole dataset).
    fraction
        Share of the training clips, groups or speakers that goes to validation (rounded up).
    by
        ``"random"``: clips, stratified by label with ``stratify`` (a class with one training
        clip keeps it in training). ``"group"`` / ``"speaker"``: whole ``record.group`` /
        ``record.speaker`` units (``GroupShuffleSplit``; IEMOCAP sessions hold two speakers).

    Returns
    -------
    (train_ids, val_ids)
        Both sorted; together exactly the input ``train_ids``.
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
    """``split`` with a validation part carved from its training ids by :func:`validation_split`."""
    if split.val_ids:
        raise ValueError(f"split {split.name!r} already has a validation part")
    train, val = validation_split(split.train_ids, records, fraction, seed, by, stratify)
    return replace(split, train_ids=train, val_ids=val)


def held_out_folds(
    records: Iterable[ClipRecord],
    n_folds: int | None = None,
    fold_size: int | None = None,
    seed: int | None = None,
) -> list[Split]:
    """Speaker-independent folds: each fold's test part is every clip of some groups.

    A group (``record.group``: an actor, an IEMOCAP session) is wholly in test or in training,
    and over the folds every record is tested once. The default layout is the dataset spec's
    (5 folds outside the registry). With one group per fold the folds are the groups in natural
    order (``2`` before ``10``); otherwise ``StratifiedGroupKFold`` deals the groups (in natural
    order, or shuffled with ``seed``) into folds of as equal size as it can and, when every group
    has one sex (the spec's ``sex``) and each sex at least ``n_folds`` groups, an equal share of
    each sex. Folds are listed by their first group.

    Parameters
    ----------
    n_folds, fold_size
        Number of folds, or groups per fold (``n_folds = ceil(n_groups / fold_size)``); if both
        are given they must agree.
    seed
        ``None`` for the deterministic natural order, or a seed for a shuffled assignment.

    Returns
    -------
    list of Split
        Named ``"<dataset>-<protocol>-fold<i>of<n>"``; the protocol is ``held-out-<group>s``, or
        ``leave-one-<group>-out`` with one group per fold, from the spec's ``group``. A
        ``ValueError`` on no records, duplicate ids, mixed datasets, a record without a group,
        fewer than 2 groups, or more folds than groups.
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


def twin_key(record: ClipRecord) -> Hashable | None:
    """Key shared by a clip and its "twins" (near-duplicate recordings), or ``None``.

    The dataset's spec says what a twin is: in RAVDESS the two repetitions of a take
    (:func:`cmaf.data.ravdess.twin_key`); CREMA-D, IEMOCAP and unregistered datasets have none.
    """
    spec = SPECS.get(record.dataset)
    key = spec.twin_key(record) if spec else None
    return None if key is None else (record.dataset, key)


def _twin_groups(records: Iterable[ClipRecord]) -> dict[Hashable, list[ClipRecord]]:
    """The records of each twin key that more than one record shares."""
    groups: dict[Hashable, list[ClipRecord]] = defaultdict(list)
    for rec in records:
        key = twin_key(rec)
        if key is not None:
            groups[key].append(rec)
    return {k: v for k, v in groups.items() if len(v) > 1}


def count_straddling_twins(split: Split, records: Iterable[ClipRecord]) -> int:
    """Number of twin groups with a clip in test and a clip in training or validation.

    Records not in the split are ignored; split ids missing from ``records`` raise ``ValueError``.
    """
    test = set(split.test_ids)
    rest = set(split.train_ids) | set(split.val_ids)
    in_split = _lookup(sorted(test | rest), _index(records), "split")
    sides = [{r.clip_id in test for r in members} for members in _twin_groups(in_split).values()]
    return sum(len(s) == 2 for s in sides)


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
    """Numbers for the book's leakage check, as a JSON-serialisable dict.

    Part sizes, speakers in test and in training plus validation, the speakers on both sides,
    twin groups in the split and those straddling it (:func:`count_straddling_twins`), and ids
    in two parts.
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
