"""Sentences that state a comparison, generated from a build's numbers and their intervals.

A chapter never types a finding ("CMAF beats audio-only by ...") from an earlier build: it
calls these functions, which say "ahead" or "behind" only when the 95 % interval excludes
zero and "within noise" otherwise. Two builds whose numbers differ within noise therefore
state the same conclusions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from cmaf.evaluation.metrics import cluster_bootstrap
from cmaf.evaluation.runs import correct_by_clip

#: The three verdicts a difference with an interval can support.
VERDICTS = ("ahead", "behind", "within noise")


def verdict(low: float, high: float) -> str:
    """``"ahead"`` when the interval of ``lead - trail`` lies above zero, ``"behind"`` when
    below, ``"within noise"`` when it contains zero."""
    return "ahead" if low > 0 else "behind" if high < 0 else "within noise"


def accuracy_interval(correct: Sequence[bool], level: float = 0.95) -> tuple[float, float, float]:
    """Accuracy of per-clip ``correct`` flags and its Wilson score interval (fractions)."""
    correct = np.asarray(correct, dtype=bool)
    if correct.size == 0:
        raise ValueError("accuracy_interval needs at least one clip")
    ci = binomtest(int(correct.sum()), correct.size).proportion_ci(level, method="wilson")
    return float(correct.mean()), float(ci.low), float(ci.high)


def paired_difference(
    first: tuple[Sequence[bool], Sequence[object]],
    second: tuple[Sequence[bool], Sequence[object]],
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Accuracy of ``first`` minus ``second`` and its 95 % paired cluster-bootstrap interval.

    Each argument is ``(correct, clusters)`` per test clip (clusters: speakers, or one id per
    clip for a clip bootstrap); both models must have been tested on the same clips. Any
    per-clip score works in place of the correct/incorrect flags.
    """
    boot = cluster_bootstrap([first, second], n_boot=n_boot, seed=seed)
    low, high = np.nanpercentile(boot[:, 0] - boot[:, 1], [2.5, 97.5])
    means = [np.asarray(scores, dtype=float).mean() for scores, _ in (first, second)]
    return float(means[0] - means[1]), float(low), float(high)


def compare(difference: float, low: float, high: float, lead: str, trail: str) -> str:
    """One sentence on ``lead - trail`` (fractions) that says only what its interval supports.

    "A is ahead of B by 12.3 points (95 % interval +8.1 to +16.0)" when the interval lies above
    zero, "behind" when below, and "within noise" when it contains zero.
    """
    interval = f"95 % interval {100 * low:+.1f} to {100 * high:+.1f}"
    points = f"{abs(100 * difference):.1f} points ({interval})"
    sentence = {
        "ahead": f"{lead} is ahead of {trail} by {points}",
        "behind": f"{lead} is behind {trail} by {points}",
        "within noise": f"{lead} and {trail} are within noise of each other "
        f"({100 * difference:+.1f} points, {interval})",
    }[verdict(low, high)]
    return sentence[:1].upper() + sentence[1:]


@dataclass(frozen=True)
class Ranking:
    """The most accurate model and how every other one stands against it.

    ``differences[name]`` is ``(difference, low, high)`` of ``name`` minus ``best`` (fractions).
    """

    best: str
    accuracy: dict[str, float]
    differences: dict[str, tuple[float, float, float]]

    @property
    def tied(self) -> list[str]:
        """Models whose difference to the best is within noise, in descending accuracy."""
        names = [
            n for n, (_, low, high) in self.differences.items() if verdict(low, high) != "behind"
        ]
        return sorted(names, key=lambda n: -self.accuracy[n])

    def sentence(self, names: Mapping[str, str] | None = None) -> str:
        """The top group and the rest, e.g. "late, CMAF and early form the top group (the most
        accurate, at 81.2 %, and the models within noise of it); behind it: TFN." (by accuracy),
        or "late is ahead of every other model (81.2 %)." when no interval to it contains zero.
        The group, not the point-best model, is the finding: which member leads moves with
        noise. ``names`` maps model keys to display names."""
        show = (lambda n: names.get(n, n)) if names else (lambda n: n)
        accuracy = f"{100 * self.accuracy[self.best]:.1f} %"
        if not self.tied:
            return f"{show(self.best)} is ahead of every other model ({accuracy})."
        top = [show(n) for n in [self.best, *self.tied]]
        behind = sorted(set(self.differences) - set(self.tied), key=lambda n: -self.accuracy[n])
        text = (
            f"{', '.join(top[:-1])} and {top[-1]} form the top group (the most accurate, at "
            f"{accuracy}, and the models within noise of it)"
        )
        return text + ("; behind it: " + ", ".join(map(show, behind)) if behind else "") + "."


def rank(
    samples: Mapping[str, tuple[Sequence[bool], Sequence[object]]],
    n_boot: int = 2000,
    seed: int = 0,
) -> Ranking:
    """Rank models tested on the same clips: ``name -> (correct, clusters)`` per clip."""
    if not samples:
        raise ValueError("rank needs at least one model")
    accuracy = {name: float(np.mean(correct)) for name, (correct, _) in samples.items()}
    best = max(accuracy, key=lambda n: (accuracy[n], n))
    differences = {
        name: paired_difference(sample, samples[best], n_boot, seed)
        for name, sample in samples.items()
        if name != best
    }
    return Ranking(best, accuracy, differences)


def accuracy_table(predictions: Mapping[str, Mapping[Any, str | Path]]):
    """Per model: seeds, test clips, accuracy over every seed's test clips with its Wilson
    interval, and the half-width of the widest single-seed interval (fractions); highest
    accuracy first. ``predictions``: as for :func:`cmaf.evaluation.runs.correct_by_clip`."""
    rows = []
    for model, by_seed in predictions.items():
        per_seed = [correct_by_clip({model: {s: path}})[model][0] for s, path in by_seed.items()]
        correct = np.concatenate(per_seed)
        accuracy, low, high = accuracy_interval(correct)
        half_widths = [(hi - lo) / 2 for _, lo, hi in map(accuracy_interval, per_seed)]
        rows.append(
            {
                "model": model,
                "seeds": len(per_seed),
                "test clips": len(correct),
                "accuracy": accuracy,
                "low": low,
                "high": high,
                "widest seed half-width": max(half_widths),
            }
        )
    return pd.DataFrame(rows).sort_values("accuracy", ascending=False, ignore_index=True)
