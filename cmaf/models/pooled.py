"""A simple audio baseline: log-Mel statistics pooled over time and a linear classifier.

Each clip becomes the mean and standard deviation of every Mel band over its frames, and an
L2-regularised multinomial logistic regression maps them to the classes: the classic
utterance-level baseline of speech emotion recognition (cf. the eGeMAPS/ComParE functionals),
telling how much of the emotion signal needs no learned features. The regularisation strength
is chosen on the validation clips, as a network's epoch is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

#: Inverse regularisation strengths tried; the one with the best validation macro-F1 is kept.
C_GRID: tuple[float, ...] = (0.01, 0.1, 1.0)


def mel_statistics(mel: np.ndarray) -> np.ndarray:
    """Per-band mean and standard deviation over time of a log-Mel ``([1,] n_mels, frames)``:
    ``(2 * n_mels,)`` float64, the means, then the standard deviations."""
    mel = np.asarray(mel, dtype=np.float64)
    if mel.ndim == 3 and mel.shape[0] == 1:
        mel = mel[0]
    if mel.ndim != 2 or mel.shape[1] < 2:
        raise ValueError(f"mel_statistics expects (n_mels, frames >= 2), got {mel.shape}")
    return np.concatenate([mel.mean(axis=1), mel.std(axis=1)])


@dataclass
class PooledLinear:
    """Standardisation + multinomial logistic regression on :func:`mel_statistics` features.

    :meth:`predict_proba` always returns ``num_classes`` columns, also for a class missing from
    the training clips; ``c`` is the inverse L2 regularisation strength; ``seed`` the solver's
    (kept for the record).
    """

    num_classes: int
    c: float = 0.1
    seed: int = 0

    def fit(self, features: np.ndarray, labels: np.ndarray) -> PooledLinear:
        features = np.asarray(features, dtype=np.float64)
        self.mean_ = features.mean(axis=0)
        # A constant feature (e.g. a silent band) would divide by zero; it carries no signal.
        self.scale_ = np.where(features.std(axis=0) > 1e-12, features.std(axis=0), 1.0)
        # newton-cg: a few Newton steps here instead of lbfgs's hundreds of iterations, much
        # faster when BLAS threads compete with the rest of the machine.
        self.model_ = LogisticRegression(
            C=self.c, solver="newton-cg", max_iter=1000, random_state=self.seed
        )
        self.model_.fit((features - self.mean_) / self.scale_, np.asarray(labels))
        return self

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """``(n, num_classes)`` class probabilities."""
        scaled = (np.asarray(features, dtype=np.float64) - self.mean_) / self.scale_
        probs = np.zeros((scaled.shape[0], self.num_classes))
        probs[:, self.model_.classes_] = self.model_.predict_proba(scaled)
        return probs


def select_c(
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    num_classes: int,
    grid: Sequence[float] = C_GRID,
    seed: int = 0,
) -> tuple[float, dict[float, float]]:
    """The ``c`` of ``grid`` with the best validation macro-F1 (ties: the stronger penalty).

    Returns the chosen value and the validation macro-F1 of every value tried.
    """
    scores = {}
    for c in grid:
        model = PooledLinear(num_classes, c=c, seed=seed).fit(*train)
        predicted = model.predict_proba(val[0]).argmax(axis=1)
        scores[c] = float(
            f1_score(val[1], predicted, average="macro", labels=range(num_classes), zero_division=0)
        )
    best = max(sorted(grid), key=lambda c: (scores[c], -c))
    return best, scores
