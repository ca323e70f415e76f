"""Training throughput: clips/s of one optimiser step, with and without the frozen-feature cache.

Run::

    .venv/bin/python benchmarks/training.py            # the cpu profile's network, batch 32
    .venv/bin/python benchmarks/training.py --quick    # the smoke profile, batch 4 (seconds)
    .venv/bin/python benchmarks/training.py --json benchmarks/results/training.json

What one "step" is: forward, cross-entropy, backward and an Adam step of the whole model on a
random batch of the profile's shapes (log-Mel ``128 x 256``; frames or cached frame features),
exactly as :func:`cmaf.training.loop._train_epoch` does it, without the data loader (whose cost
``benchmarks/prepare.py`` and the cache cover). Each case: two warm-up steps, then the median
of ``--repeat`` steps; clips/s = batch / median.

Cases on every machine (CPU, float32):

* ``frames``: the frozen ResNet-18 runs on the frames in every step (no feature cache).
* ``cached``: the backbone's features come precomputed, as ``train.frozen_features`` does.
* ``audio NCHW`` / ``audio NHWC``: the audio encoder alone, with contiguous against
  channels-last weights and inputs (the encoder uses channels-last since this benchmark showed
  it faster).

* ``PROFILE`` and ``PROFILE, paper log-Mel``: the ``cached`` case, and the same with the
  paper's ``128 x 256`` log-Mel (60 audio steps, time rank 30), which the ``cpu`` profile used
  before it took the speech profile's ``64 x 128``. The two are timed alternately, step by
  step, so load on the machine hits both alike.

* ``PROFILE, glibc defaults`` and ``PROFILE, freed memory kept``: the ``cached`` case in fresh
  processes, alternating, without and with ``cmaf.training.loop.keep_freed_memory`` (which
  ``train`` calls); the median of three processes each.

Ratios printed: ``cached / frames``, ``NHWC / NCHW``, ``PROFILE / PROFILE, paper log-Mel``
(the training-throughput gain of the ``cpu`` profile's log-Mel deviation) and ``freed memory
kept / glibc defaults``.

On a CUDA device, and printed only when measured there: the paper profile's network
(90 frames of 224 px, backbone fine-tuned, as the paper trains it) in float32 against bf16
autocast, and bf16 with ``torch.compile`` (its compile time reported apart). Not a timed test.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time_steps(step, device: torch.device, repeat: int) -> float:
    """Median seconds of ``step()`` after two warm-up calls."""
    for _ in range(2):
        step()
    _sync(device)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _batch(model_cfg, batch: int, device: torch.device, features: bool) -> dict[str, torch.Tensor]:
    audio, visual = model_cfg.audio, model_cfg.visual
    out = {
        "mel": torch.randn(batch, 1, audio.n_mels, audio.mel_frames, device=device),
        "label": torch.randint(0, model_cfg.num_classes, (batch,), device=device),
    }
    if features:
        out["frame_features"] = torch.randn(batch, visual.num_frames, 512, device=device)
    else:
        size = visual.image_size
        out["frames"] = torch.randn(batch, visual.num_frames, 3, size, size, device=device)
    return out


def model_step(model, optimizer, batch, autocast_dtype=None):
    """One training step of ``model`` on ``batch``; returns a closure for :func:`_time_steps`."""
    device = batch["mel"].device

    def step() -> None:
        context = (
            torch.autocast(device.type, dtype=autocast_dtype)
            if autocast_dtype is not None
            else torch.autocast(device.type, enabled=False)
        )
        with context:
            if "frame_features" in batch:
                out = model(batch["mel"], frame_features=batch["frame_features"])
            else:
                out = model(batch["mel"], batch["frames"])
        loss = F.cross_entropy(out.logits.float(), batch["label"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def _build(model_cfg, device: torch.device):
    from cmaf.models.model import CMAF

    torch.manual_seed(0)
    model = CMAF(model_cfg).to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    return model, torch.optim.Adam(params, lr=1e-3)


def audio_layout_step(model_cfg, batch: int, device: torch.device, channels_last: bool):
    """Forward + backward + Adam of the audio encoder alone, in the given memory layout."""
    from cmaf.models.audio_encoder import AudioEncoder

    torch.manual_seed(0)
    encoder = AudioEncoder(model_cfg.audio).to(device)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    encoder.blocks.to(memory_format=layout)
    optimizer = torch.optim.Adam(encoder.parameters(), lr=1e-3)
    mel = torch.randn(batch, 1, model_cfg.audio.n_mels, model_cfg.audio.mel_frames, device=device)
    if not channels_last:
        # The encoder converts its input to channels-last; bypass that for the NCHW side.
        def forward(x):
            maps = encoder.blocks(x)
            n, c, bands, steps = maps.shape
            return encoder.project(maps.permute(0, 3, 1, 2).reshape(n, steps, c * bands))
    else:
        forward = encoder

    def step() -> None:
        loss = forward(mel).square().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def _machine(device: torch.device) -> dict[str, object]:
    from cmaf.evaluation.benchmarks import cpu_model

    info = {
        "cpu": cpu_model(),
        "cores": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": str(device),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def _time_alternating(steps: dict, device: torch.device, repeat: int) -> dict[str, float]:
    """Median seconds per step of each closure, timed in turn within every round."""
    for step in steps.values():
        for _ in range(2):
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeat):
        for name, step in steps.items():
            t0 = time.perf_counter()
            step()
            _sync(device)
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(values) for name, values in times.items()}


def paper_log_mel(cfg):
    """A copy of model config ``cfg`` with the paper's log-Mel input (128 bands, 256 frames)."""
    import copy

    from cmaf.training.config import paper_config

    paper = paper_config().model
    cfg = copy.deepcopy(cfg)
    cfg.audio.n_mels, cfg.audio.mel_frames = paper.audio.n_mels, paper.audio.mel_frames
    cfg.tucker_ranks = (paper.tucker_ranks[0], *cfg.tucker_ranks[1:])
    return cfg


def _allocator_child(profile: str, batch: int, repeat: int, kept: bool) -> float:
    from cmaf.training.config import load_config
    from cmaf.training.loop import keep_freed_memory

    if kept:
        keep_freed_memory()
    cfg = load_config(profile).model
    device = torch.device("cpu")
    model, optimizer = _build(cfg, device)
    step = model_step(model, optimizer, _batch(cfg, batch, device, True))
    return batch / _time_steps(step, device, repeat)


#: The two allocator settings of :func:`allocator_rates`: does the process keep freed memory?
ALLOCATOR_CASES = {"glibc defaults": False, "freed memory kept": True}


def allocator_rates(profile: str, batch: int, repeat: int, rounds: int) -> dict[str, float]:
    """Clips/s of the ``cached`` step with glibc's defaults and with freed memory kept mapped
    (``keep_freed_memory``, as ``train`` does): each in a fresh process, the two alternating
    for ``rounds`` rounds; the median of each."""
    context = multiprocessing.get_context("spawn")
    rates: dict[str, list[float]] = {name: [] for name in ALLOCATOR_CASES}
    with context.Pool(1, maxtasksperchild=1) as pool:
        for _ in range(rounds):
            for name, kept in ALLOCATOR_CASES.items():
                rates[name].append(pool.apply(_allocator_child, (profile, batch, repeat, kept)))
    return {f"{profile}, {name}": statistics.median(v) for name, v in rates.items()}


def run_cpu(profile: str, batch: int, repeat: int) -> dict[str, float]:
    from cmaf.training.config import load_config

    cfg = load_config(profile).model
    device = torch.device("cpu")
    rates = {}
    for name, features in (("frames", False), ("cached", True)):
        model, optimizer = _build(cfg, device)
        data = _batch(cfg, batch, device, features)
        rates[name] = batch / _time_steps(model_step(model, optimizer, data), device, repeat)
        print(f"cpu {profile} {name:<8}: {rates[name]:8.1f} clips/s (batch {batch})", flush=True)
    for name, last in (("audio NCHW", False), ("audio NHWC", True)):
        step = audio_layout_step(cfg, batch, device, last)
        rates[name] = batch / _time_steps(step, device, repeat)
        print(f"cpu {profile} {name}: {rates[name]:8.1f} clips/s (batch {batch})", flush=True)
    steps = {}
    for name, model_cfg in ((profile, cfg), (f"{profile}, paper log-Mel", paper_log_mel(cfg))):
        model, optimizer = _build(model_cfg, device)
        steps[name] = model_step(model, optimizer, _batch(model_cfg, batch, device, True))
    for name, seconds in _time_alternating(steps, device, repeat).items():
        rates[name] = batch / seconds
        print(f"cpu {profile} {name:<8}: {rates[name]:8.1f} clips/s (batch {batch}, alternating)")
    rounds = 1 if profile == "smoke" else 3
    for name, rate in allocator_rates(profile, batch, repeat, rounds).items():
        rates[name] = rate
        print(f"cpu {name}: {rate:8.1f} clips/s (batch {batch}, fresh processes, {rounds} each)")
    print(f"ratio cached / frames : {rates['cached'] / rates['frames']:.2f}")
    gain = rates[profile] / rates[f"{profile}, paper log-Mel"]
    print(f"ratio {profile} / {profile}, paper log-Mel (the log-Mel deviation; goal 2): {gain:.2f}")
    print(f"ratio NHWC / NCHW (audio encoder): {rates['audio NHWC'] / rates['audio NCHW']:.2f}")
    kept = rates[f"{profile}, freed memory kept"] / rates[f"{profile}, glibc defaults"]
    print(f"ratio freed memory kept / glibc defaults (training step): {kept:.2f}")
    return rates


def run_cuda(profile: str, batch: int, repeat: int) -> dict[str, float]:
    from cmaf.training.config import load_config

    device = torch.device("cuda")
    torch.backends.cudnn.benchmark = True
    cfg = load_config(profile).model
    if profile == "paper":
        cfg.visual.weights = None  # weights do not change the speed; nothing is downloaded
    rates: dict[str, float] = {}
    for name, dtype, compiled in (
        ("fp32", None, False),
        ("bf16", torch.bfloat16, False),
        ("bf16+compile", torch.bfloat16, True),
    ):
        model, optimizer = _build(cfg, device)
        model = model.to(memory_format=torch.channels_last)
        if compiled:
            model = torch.compile(model)
        data = _batch(cfg, batch, device, cfg.visual.freeze_backbone)
        step = model_step(model, optimizer, data, dtype)
        t0 = time.perf_counter()
        step()  # the first call compiles
        _sync(device)
        first = time.perf_counter() - t0
        rates[name] = batch / _time_steps(step, device, repeat)
        extra = f", first step {first:.1f} s" if compiled else ""
        print(f"cuda {profile} {name:<13}: {rates[name]:8.1f} clips/s (batch {batch}{extra})")
        del model, optimizer, data
        torch.cuda.empty_cache()
    print(f"ratio bf16 / fp32 ({profile}, cuda): {rates['bf16'] / rates['fp32']:.2f}")
    print(
        f"ratio bf16+compile / bf16 ({profile}, cuda): {rates['bf16+compile'] / rates['bf16']:.2f}"
    )
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke profile, batch 4")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--paper-batch",
        type=int,
        default=8,
        help="batch of the CUDA paper-profile cases (720 frames of 224 px at 8)",
    )
    parser.add_argument("--no-cuda", action="store_true", help="skip the CUDA cases")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    profile = "smoke" if args.quick else "cpu"
    if args.quick:
        args.batch, args.repeat, args.paper_batch = 4, 2, 4

    results: dict[str, object] = {"machine": _machine(torch.device("cpu")), "profile": profile}
    results["cpu"] = run_cpu(profile, args.batch, args.repeat)
    if torch.cuda.is_available() and not args.no_cuda:
        results["machine_cuda"] = _machine(torch.device("cuda"))
        cuda_profile = "smoke" if args.quick else "paper"
        results["cuda"] = {
            cuda_profile: run_cuda(cuda_profile, args.paper_batch, args.repeat),
            **({} if args.quick else {"cpu": run_cuda("cpu", args.batch, args.repeat)}),
        }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
