"""Experiments: plans of many runs and what is measured across them.

``protocols`` trains one model under the random split and held-out folds; ``compare`` runs CMAF
against its baselines and ablations; ``robustness`` sweeps trained runs with test-time
corruptions; ``speech`` is the real-speech study of the book's chapter 10. The named plans of
``cmaf compare`` and ``cmaf speech`` are :class:`Plan` objects, and :data:`BOOK_PLANS` says which
of them ``cmaf book`` runs. This layer sits above ``cmaf.training`` and below ``cmaf.plots``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cmaf.experiments.robustness import SweepConfig
from cmaf.training.config import ExperimentConfig, load_config


@dataclass(frozen=True)
class Plan:
    """Which runs an experiment trains and fits, and how its trained runs are swept.

    Parameters
    ----------
    models
        Fusions (``cmaf compare``), or ``network``, ``pooled``, ``egemaps`` (``cmaf speech``).
    seeds
        Network seeds, each one random split drawn with it plus the held-out folds; ``None``
        takes the caller's (the book's ``--seeds``; ``cmaf compare``: 0).
    folds
        Held-out folds the network trains on; ``None``: every fold the data give.
    config
        Profile the runs use; ``None``: the caller's (``--config``, the book's profile).
    epochs
        Override of the profile's epochs (``None``: keep).
    groups_per_fold
        Actors per held-out fold, set on the held-out runs only (``None``: the dataset's).
    speaker_norm
        Per-speaker normalisation settings every model runs with.
    baseline_seeds
        Seeds of the linear baselines, which always cover every fold.
    actors
        Use only these actors' clips (``None``: all).
    sweep
        The test-time corruptions of the trained runs (``None``: no sweep).
    """

    models: tuple[str, ...] = ("cmaf", "audio", "video")
    seeds: tuple[int, ...] | None = (0,)
    folds: tuple[int, ...] | None = ()
    config: str | None = None
    epochs: int | None = None
    groups_per_fold: int | None = None
    speaker_norm: tuple[bool, ...] = (False,)
    baseline_seeds: tuple[int, ...] = (0,)
    actors: tuple[int, ...] | None = None
    sweep: SweepConfig | None = field(default_factory=SweepConfig)

    def load(self, config: ExperimentConfig | None = None) -> ExperimentConfig:
        """``config`` (default: the plan's profile) with the plan's epochs."""
        config = config if config is not None else load_config(self.config)
        if self.epochs is not None:
            config.train.epochs = self.epochs
        return config


#: The plans ``cmaf book`` runs for each profile: (``cmaf compare --plan``, ``cmaf speech
#: --plan``); the plans are :data:`cmaf.experiments.compare.PLANS` and
#: :data:`cmaf.experiments.speech.PLANS`.
BOOK_PLANS = {"smoke": ("smoke", "smoke"), "cpu": ("book", "cpu"), "paper": ("full", "full")}
