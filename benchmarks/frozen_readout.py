"""Diagnostic: is CMAF's fusion readout or its encoders' training what falls short?

Run after a ``cpu`` book build (it reads the build's runs)::

    .venv/bin/python benchmarks/frozen_readout.py [--runs-root runs/book-cpu-synthetic]
        [--seed 0] [--epochs 30]

It takes the *trained* encoders of the build's audio-only and video-only runs of one seed,
freezes them, and trains everything CMAF puts after them (projections, both cross-attention
blocks, the Tucker core, FBP and the classifier: :class:`cmaf.models.CMAF` itself, its encoders
replaced by the precomputed sequences) on that seed's training split, selecting the epoch by
validation macro-F1 as training does. No augmentation, no auxiliary losses. Printed: test
accuracy at the selected and the last epoch, beside the build's CMAF run of the same seed
(trained end to end) and the two unimodal runs.

If the readout on good frozen encoders scores well above the end-to-end CMAF, the readout can
fuse, and what falls short is how the encoders learn through it (the reason for the ``cpu``
profile's ``model.unimodal_aux_weight``). Not a timed test; about 4 minutes on two idle cores.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class _Precomputed(nn.Module):
    """Stands in for an encoder: returns what it is given (the frozen encoder's output)."""

    def forward(self, x: torch.Tensor | None = None, frame_features: torch.Tensor | None = None):
        return x if x is not None else frame_features


def _accuracy(run_dir: Path) -> float:
    return json.loads((run_dir / "metrics.json").read_text())["test"]["accuracy"]


def main(argv: list[str] | None = None) -> None:
    from sklearn.metrics import f1_score

    from cmaf.data.dataset import load_manifest, resolve_cache_dir
    from cmaf.data.splits import Split
    from cmaf.experiments.robustness import _load_batch, load_trained
    from cmaf.layout import BookRuns
    from cmaf.models.model import CMAF
    from cmaf.training.loop import compute_frame_features

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-root", default="runs/book-cpu-synthetic")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args(argv)
    root = Path(args.runs_root)
    runs = {f: BookRuns(root).random_split_run(f, args.seed) for f in ("cmaf", "audio", "video")}
    missing = [str(p) for p in runs.values() if not (p / "metrics.json").is_file()]
    if missing:
        raise SystemExit(f"no finished run at {', '.join(missing)}: build the book first")
    device = torch.device("cpu")
    cache = resolve_cache_dir(root / "cache")
    config, _ = load_trained(runs["cmaf"], device)
    _, audio_model = load_trained(runs["audio"], device)
    _, video_model = load_trained(runs["video"], device)
    manifest = load_manifest(cache)
    features = compute_frame_features(video_model, cache, device, progress=False)
    audio_seq, visual_seq, labels, ids = [], [], [], []
    with torch.no_grad():
        for start in range(0, len(manifest), 32):
            rows = manifest[start : start + 32]
            mel, _ = _load_batch(cache, rows, frames=False)
            audio_seq.append(audio_model.audio_encoder(mel))
            frame_features = torch.stack([features[r["clip_id"]] for r in rows])
            visual_seq.append(video_model.visual_encoder(frame_features=frame_features))
            labels += [int(r["label_index"]) for r in rows]
            ids += [r["clip_id"] for r in rows]
    audio_seq, visual_seq = torch.cat(audio_seq), torch.cat(visual_seq)
    labels = torch.tensor(labels)
    split = Split.from_json((runs["cmaf"] / "split.json").read_text())
    position = {clip_id: i for i, clip_id in enumerate(ids)}
    part = {
        name: torch.tensor([position[c] for c in getattr(split, f"{name}_ids")])
        for name in ("train", "val", "test")
    }

    torch.manual_seed(args.seed)
    model_config = config.model
    model_config.unimodal_aux_weight = 0.0
    model = CMAF(model_config)
    model.audio_encoder, model.visual_encoder = _Precomputed(), _Precomputed()
    optimizer = torch.optim.Adam(
        model.parameters(), lr=config.train.lr, weight_decay=config.train.weight_decay
    )

    def predict(index: torch.Tensor) -> np.ndarray:
        model.eval()
        with torch.no_grad():
            out = model(audio_seq[index], frame_features=visual_seq[index])
        return out.logits.argmax(1).numpy()

    best = (-1.0, 0.0, 0)
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = part["train"][torch.randperm(len(part["train"]))]
        for start in range(0, len(order), config.train.batch_size):
            batch = order[start : start + config.train.batch_size]
            logits = model(audio_seq[batch], frame_features=visual_seq[batch]).logits
            loss = F.cross_entropy(logits, labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        val_f1 = f1_score(labels[part["val"]], predict(part["val"]), average="macro")
        test = float((predict(part["test"]) == labels[part["test"]].numpy()).mean())
        if val_f1 > best[0]:
            best = (val_f1, test, epoch)
    print(f"seed {args.seed}, random split, {len(part['test'])} test clips")
    print(
        f"  CMAF readout on frozen unimodal encoders: {100 * best[1]:.1f} % at epoch {best[2]}"
        f" (best validation macro-F1), {100 * test:.1f} % after {args.epochs} epochs"
    )
    for fusion in ("cmaf", "audio", "video"):
        print(f"  {fusion:5s} run ({runs[fusion]}): {100 * _accuracy(runs[fusion]):.1f} %")


if __name__ == "__main__":
    main()
