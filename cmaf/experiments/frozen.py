"""Every fusion method on the same frozen encoders: the comparison that isolates the fusion.

For each seed, the trained encoders of that seed's audio-only and video-only runs are frozen
and their output sequences computed once for every clip. Each fusion model
(:data:`FUSIONS`) is then built with those two sequences as its inputs, and only what it puts
after the encoders is trained (projections, attention, fusion layer, classifier) on the seed's
training clips, the epoch chosen by validation macro-F1 as :func:`cmaf.training.train` chooses
it. Every method thus sees exactly the same features and the same split: what differs is the
fusion alone. The end-to-end comparison (each model trains its own encoders) is ``cmaf
compare``'s; chapter 8 says which table uses which protocol.

``cmaf-no-gru`` replaces the visual Bi-GRU, so it reads the frozen backbone's frame features
and trains its per-frame linear layer with the rest.

Output, in ``out``: ``seed<S>/<fusion>.csv`` (clip_id, label_index, predicted_index: the test
clips) and ``seed<S>/source.json`` (the two encoder runs and their checkpoints' hashes; a seed
whose encoder runs changed is computed afresh).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score
from torch import nn
from tqdm import tqdm

from cmaf.data.cache import read_item
from cmaf.data.dataset import load_manifest
from cmaf.data.records import sha256_file
from cmaf.data.splits import Split
from cmaf.models.baselines import build_model
from cmaf.models.config import FUSIONS as MODEL_NAMES
from cmaf.training.checkpoint import atomic_write_text
from cmaf.training.loop import compute_frame_features, keep_freed_memory
from cmaf.training.predict import load_run

#: The fusion models compared on frozen encoders: every registered model that reads both.
FUSIONS = tuple(name for name in MODEL_NAMES if name not in ("audio", "video"))
#: Head-training epochs (as the ``cpu`` profile trains its runs).
EPOCHS = 20
#: Clips per step. A head on precomputed features costs little per clip, so a step's fixed
#: cost dominates; twice the ``cpu`` profile's batch halves the steps.
BATCH_SIZE = 64


class _Given(nn.Module):
    """Stands in for a frozen encoder: returns the precomputed sequence it is given."""

    def forward(self, x: torch.Tensor | None = None, frame_features: torch.Tensor | None = None):
        return x if x is not None else frame_features


@dataclasses.dataclass
class EncodedClips:
    """The frozen encoders' outputs for every clip of a cache, in manifest order."""

    clip_ids: list[str]
    labels: torch.Tensor  # (N,)
    audio_seq: torch.Tensor  # (N, T_audio, D_audio): the audio CNN's output
    visual_seq: torch.Tensor  # (N, T_frames, D_visual): the Bi-GRU's output
    frame_features: torch.Tensor  # (N, T_frames, 512): the frozen backbone's output

    def index(self, clip_ids: Iterable[str]) -> torch.Tensor:
        position = {clip_id: i for i, clip_id in enumerate(self.clip_ids)}
        return torch.tensor([position[c] for c in clip_ids], dtype=torch.long)


@torch.no_grad()
def encode_clips(audio_run, video_run, cache_dir: Path, batch_size: int = 64) -> EncodedClips:
    """Run the two runs' trained encoders (evaluation mode) once over every cached clip."""
    manifest = load_manifest(cache_dir)
    device = audio_run.device
    frames = compute_frame_features(video_run.model, cache_dir, device, progress=False)
    audio, visual, raw = [], [], []
    for start in range(0, len(manifest), batch_size):
        rows = manifest[start : start + batch_size]
        mel = torch.stack(
            [torch.from_numpy(read_item(cache_dir, r, skip=("frames",))["mel"]) for r in rows]
        )
        features = torch.stack([frames[r["clip_id"]] for r in rows]).to(device)
        audio.append(audio_run.model.audio_encoder(mel[:, None].float().to(device)).cpu())
        visual.append(video_run.model.visual_encoder(frame_features=features).cpu())
        raw.append(features.cpu())
    return EncodedClips(
        [r["clip_id"] for r in manifest],
        torch.tensor([int(r["label_index"]) for r in manifest]),
        torch.cat(audio),
        torch.cat(visual),
        torch.cat(raw),
    )


def train_head(
    fusion: str, model_config, train_config, clips: EncodedClips, split: Split, seed: int
) -> np.ndarray:
    """Train ``fusion``'s layers after the frozen encoders; predicted classes of the test clips.

    Adam with the run's learning rate and weight decay, :data:`EPOCHS` epochs of
    :data:`BATCH_SIZE` clips, no augmentation
    and no auxiliary losses; the epoch with the best validation macro-F1 is kept.
    """
    torch.manual_seed(seed)
    config = dataclasses.replace(model_config, fusion=fusion, unimodal_aux_weight=0.0)
    model = build_model(config)
    model.audio_encoder = _Given()
    visual = clips.frame_features if fusion == "cmaf-no-gru" else clips.visual_seq
    if fusion != "cmaf-no-gru":
        model.visual_encoder = _Given()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=train_config.lr, weight_decay=train_config.weight_decay)
    part = {name: clips.index(getattr(split, f"{name}_ids")) for name in ("train", "val", "test")}

    def predict(index: torch.Tensor) -> np.ndarray:
        model.eval()
        with torch.no_grad():
            logits = model(clips.audio_seq[index], frame_features=visual[index]).logits
        return logits.argmax(1).numpy()

    best_f1, best_state = -1.0, None
    generator = torch.Generator().manual_seed(seed)
    for _ in range(EPOCHS):
        model.train()
        order = part["train"][torch.randperm(len(part["train"]), generator=generator)]
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            logits = model(clips.audio_seq[batch], frame_features=visual[batch]).logits
            loss = F.cross_entropy(logits, clips.labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        val = part["val"] if len(part["val"]) else part["train"]
        f1 = f1_score(clips.labels[val].numpy(), predict(val), average="macro")
        if f1 > best_f1:
            best_f1, best_state = f1, {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    return predict(part["test"])


def _source(audio_dir: Path, video_dir: Path) -> dict[str, str]:
    return {
        f"{name}_{what}": value
        for name, run in (("audio", audio_dir), ("video", video_dir))
        for what, value in (
            ("run", str(run)),
            ("checkpoint_sha256", sha256_file(run / "checkpoints" / "best.pt")),
        )
    }


def run_frozen(
    encoder_runs: Mapping[int, tuple[Path, Path]],
    cache_dir: str | Path,
    out: str | Path,
    fusions: Sequence[str] = FUSIONS,
    device: str = "auto",
    progress: bool = True,
) -> Path:
    """Train every fusion on each seed's frozen encoders; ``encoder_runs``: seed -> (audio run,
    video run). Heads already in ``out`` from the same encoder checkpoints are kept."""
    cache_dir, out = Path(cache_dir), Path(out)
    keep_freed_memory()
    bar = tqdm(
        total=len(encoder_runs) * len(fusions),
        desc="frozen-encoder fusions",
        disable=not progress,
        leave=False,
    )
    for seed in sorted(encoder_runs):
        folder = out / f"seed{seed}"
        audio_dir, video_dir = (Path(p) for p in encoder_runs[seed])
        source = _source(audio_dir, video_dir)  # hashes the checkpoints: once per seed
        source_file = folder / "source.json"
        if not source_file.is_file() or json.loads(source_file.read_text()) != source:
            folder.mkdir(parents=True, exist_ok=True)
            for stale in folder.glob("*.csv"):
                stale.unlink()
            atomic_write_text(source_file, json.dumps(source, indent=2) + "\n")
        todo = [f for f in fusions if not (folder / f"{f}.csv").is_file()]
        bar.update(len(fusions) - len(todo))
        if not todo:
            continue
        audio_run, video_run = load_run(audio_dir, device), load_run(video_dir, device)
        clips = encode_clips(audio_run, video_run, cache_dir)
        split = Split.from_json((audio_dir / "split.json").read_text())
        test = clips.index(split.test_ids)
        for fusion in todo:
            bar.set_postfix_str(f"seed {seed}, {fusion}")
            predicted = train_head(
                fusion, audio_run.config.model, audio_run.config.train, clips, split, seed
            )
            table = pd.DataFrame(
                {
                    "clip_id": split.test_ids,
                    "label_index": clips.labels[test].numpy(),
                    "predicted_index": predicted,
                }
            )
            atomic_write_text(folder / f"{fusion}.csv", table.to_csv(index=False))
            bar.update()
    bar.close()
    return out


def prediction_files(out: str | Path) -> dict[str, dict[str, Path]]:
    """``fusion -> seed -> out/seed<S>/<fusion>.csv``: every head's test predictions in ``out``,
    the input of :func:`cmaf.evaluation.runs.correct_by_clip`."""
    files: dict[str, dict[str, Path]] = {}
    for path in sorted(Path(out).glob("seed*/*.csv")):
        files.setdefault(path.stem, {})[path.parent.name.removeprefix("seed")] = path
    return files
