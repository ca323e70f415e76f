"""Training: experiment configs and profiles, the training loop, checkpoints."""

from cmaf.training.config import ExperimentConfig, diff_configs, load_config
from cmaf.training.loop import TrainingDiverged, select_device, train

__all__ = [
    "ExperimentConfig",
    "TrainingDiverged",
    "diff_configs",
    "load_config",
    "select_device",
    "train",
]
