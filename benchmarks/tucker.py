"""Factorised :class:`TuckerFusion` against the literal Algorithms A1 + A2, on CPU in float32.

Run::

    .venv/bin/python benchmarks/tucker.py                 # paper sizes, batch 8/32/128 (minutes)
    .venv/bin/python benchmarks/tucker.py --quick         # tiny sizes (seconds)
    .venv/bin/python benchmarks/tucker.py --json benchmarks/results/tucker.json

For every batch size and for forward alone and forward + backward (gradients with respect to
both input sequences and all three factors; the literal path's factors are leaf tensors that
require grad), it reports each path's time (median of the repeats after a warm-up call), their
time ratio and their peak-memory ratio.

Peak memory: torch's CPU allocator keeps no statistics, so each (case, path) runs in a fresh
child process started with multiprocessing ``spawn``. The child builds the inputs, warms the
same path up at tiny sizes (thread pool, kernels), resets the kernel's peak-RSS mark to the
current RSS (``5`` written to ``/proc/self/clear_refs``), reads its current RSS from
``/proc/self/statm``, runs the path once at full size and reads the mark (``VmHWM`` in
``/proc/self/status``). The increase, peak minus the RSS before, is all the memory the call
touched: the intermediates, the output and, for backward, the saved tensors and the gradients.
Not ``ru_maxrss``: Linux carries it across ``fork`` and ``exec``, so a ``spawn`` child starts
with its parent's peak, and once the parent has held more than a child will (the literal
batch-128 case holds GBs) every child reports the parent's peak. ``ru_maxrss`` is the
fallback where ``/proc/self/status`` has no ``VmHWM``.

Arithmetic (multiply-accumulates per sample, from :func:`mac_counts`), the factorised layer's
achieved GFLOP/s (2 × MACs / time) as a fraction of a plain fp32 GEMM (``torch.mm``) timed
interleaved with it in the same run, and its cost against T and against the ranks are printed
too. Timings share the machine with whatever else runs on it: medians are reported, minima kept
in the JSON. Not a timed test.

The head (``--head``, on by default; section ``head`` of the JSON): Tucker fusion followed by the
FBP readout (Appendix A.4) at the paper's sizes, FBP sized by ``CMAFConfig``'s defaults, batch 8
and 32 (``--head-batches``), forward and forward + backward (gradients of every parameter and
both sequences), three paths:

* ``literal``: Algorithms A1 + A2 literally, then FBP (``TuckerFBP.literal``);
* ``factorised``: ``TuckerFusion`` then FBP, the model's path before the fused head
  (``TuckerFBP.unfused``);
* ``fused``: ``TuckerFBP.forward``, which never forms the core.

The three paths of one case are timed interleaved, one call of each per round, so that they
share the machine's load; each path's best (minimum) and median over its rounds are reported, and
the ratios are taken between the best times (the best of several runs on a shared machine is
the least disturbed) with the ratios of the medians alongside. Each case is timed in two
settings: in a fresh ``spawn`` child (``fresh_process``) and in this process after the core
cases (``same_process``). They differ for the factorised path, whose intermediates (core and
FBP's projected mixtures, about 16 MB each at batch 8) come from fresh zero-filled pages in a
new process but from recycled heap pages once the process has held GBs; the fused path's are
small in both. Memory: the RSS increase of one
call in a fresh ``spawn`` child, as above, and, for forward + backward, the bytes autograd saves
for backward beyond the parameters and inputs (counted with
``torch.autograd.graph.saved_tensors_hooks``, unique storages; exact, unaffected by the load).
Goals (issue #20): fused >= 80x faster than literal and >= 8x faster than factorised.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAPER = {"time_steps": 60, "audio_dim": 256, "visual_dim": 256, "ranks": (30, 128, 128)}
QUICK = {"time_steps": 8, "audio_dim": 16, "visual_dim": 16, "ranks": (4, 8, 8)}
PATHS = ("literal", "factorised")
HEAD_PATHS = ("literal", "factorised", "fused")
QUICK_HEAD = {"out_dim": 8, "factors": 2, "time_mixtures": 2}


def mac_counts(
    time_steps: int, audio_dim: int, visual_dim: int, ranks: tuple[int, int, int]
) -> dict[str, int]:
    """Multiply-accumulates per sample of each path, from the sizes.

    With ``T`` time steps, ``D_a``/``D_v`` input widths and ranks ``(K_t, K_a, K_v)``:

    literal (:func:`~cmaf.models.tucker.tucker_fusion_reference`, Algorithms A1 + A2)::

        T·D_a·D_v              outer products a_t ⊗ v_t             (builds X)
      + K_t·T·D_a·D_v          mode-2 product with A_T              (ntav,tk->nkav)
      + K_t·K_a·D_a·D_v        mode-3 product with A_a              (nkav,ai->nkiv)
      + K_t·K_a·K_v·D_v        mode-4 product with A_v              (nkiv,vj->nkij)

    factorised (:meth:`~cmaf.models.tucker.TuckerFusion.forward`)::

        T·D_a·K_a              audio projection a_t A_a
      + T·D_v·K_v              visual projection v_t A_v
      + K_t·T·K_a              time weighting A_T[t, k] · (a_t A_a)[i]
      + K_t·K_a·T·K_v          contraction over time, (K_t·K_a × T) @ (T × K_v)

    The outer products and the time weighting are multiplications, counted as one MAC each.
    At the paper's sizes (60, 256, 256, ranks 30/128/128): 499,384,320 against 33,653,760,
    a ratio of 14.8.
    """
    t, da, dv = time_steps, audio_dim, visual_dim
    kt, ka, kv = ranks
    literal = t * da * dv + kt * t * da * dv + kt * ka * da * dv + kt * ka * kv * dv
    factorised = t * da * ka + t * dv * kv + kt * t * ka + kt * ka * t * kv
    return {"literal": literal, "factorised": factorised}


def head_mac_counts(
    time_steps: int,
    audio_dim: int,
    visual_dim: int,
    ranks: tuple[int, int, int],
    out_dim: int,
    factors: int,
    time_mixtures: int,
) -> dict[str, int]:
    """Multiply-accumulates per sample of the Tucker + FBP head, each path.

    With ``J = out_dim``, ``k = factors``, ``R = time_mixtures``, FBP's readout of a core
    (:class:`~cmaf.models.pooling.FactorizedBilinearPooling`) costs::

        K_t·R·K_a·K_v          temporal mixtures  M_r = Σ_κ C[κ, r] G[κ]
      + R·K_a·K_v·J·k          M_r V
      + R·K_a·J·k              column-wise products with U, summed over K_a
      + R·J                    mixture weights W

    literal and factorised add it to :func:`mac_counts`'s paths. The fused head
    (:meth:`~cmaf.models.tucker_fbp.TuckerFBP.forward`)::

        T·D_a·K_a + T·K_a·J·k  Q_a = (a A_a) U
      + T·D_v·K_v + T·K_v·J·k  Q_v = (v A_v) V
      + 2·T·J·k                Q_a · E · Q_v, summed over time

    leaving out ``E = A_T C W`` (``T·K_t·R + T·R·J``, once per batch, not per sample). At the
    paper's sizes with FBP 512/2/4: 568,985,600, 103,255,040 and 19,783,680.
    """
    t, da, dv = time_steps, audio_dim, visual_dim
    kt, ka, kv = ranks
    jk = out_dim * factors
    fbp = kt * time_mixtures * ka * kv + time_mixtures * ka * kv * jk
    fbp += time_mixtures * ka * jk + time_mixtures * out_dim
    core = mac_counts(time_steps, audio_dim, visual_dim, ranks)
    fused = t * da * ka + t * ka * jk + t * dv * kv + t * kv * jk + 2 * t * jk
    return {
        "literal": core["literal"] + fbp,
        "factorised": core["factorised"] + fbp,
        "fused": fused,
    }


# --- one path, one call ----------------------------------------------------------------------


def _models_file(name: str):
    """``cmaf/models/<name>.py`` executed alone, as a private module ``_cmaf_models_<name>``."""
    path = ROOT / "cmaf" / "models" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_cmaf_models_{name}", path)
    module = importlib.util.module_from_spec(spec)
    # Registered first, as importlib's recipe does: dataclasses look their module up there.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@functools.cache
def _tucker_module():
    """``cmaf.models.tucker``, loaded from its file alone when it can be.

    The ``cmaf.models`` package imports torchvision (seconds), which every ``spawn`` child
    would pay again; ``tucker.py`` itself needs only torch. Falls back to the package import.
    """
    try:
        return _models_file("tucker")
    except (ImportError, OSError):
        from cmaf.models import tucker

        return tucker


@functools.cache
def _head_module():
    """``cmaf.models.tucker_fbp``, loaded from its file alone when it can be (see above).

    Its imports of ``cmaf.models.tucker`` and ``cmaf.models.pooling`` are answered, during
    the load only, by those files loaded alone; the package is imported only as a fallback.
    """
    if "cmaf.models" in sys.modules:
        from cmaf.models import tucker_fbp

        return tucker_fbp
    try:
        siblings = {
            "cmaf.models.tucker": _tucker_module(),
            "cmaf.models.pooling": _models_file("pooling"),
        }
        added = [name for name in siblings if name not in sys.modules]
        sys.modules.update({name: siblings[name] for name in added})
        try:
            return _models_file("tucker_fbp")
        finally:
            for name in added:
                sys.modules.pop(name, None)
    except (ImportError, OSError):
        from cmaf.models import tucker_fbp

        return tucker_fbp


@functools.cache
def paper_head_sizes() -> dict:
    """FBP's sizes in ``CMAFConfig``'s defaults (``config.py`` needs no torch; loaded alone)."""
    try:
        config = _models_file("config").CMAFConfig()
    except (ImportError, OSError):
        from cmaf.models.config import CMAFConfig

        config = CMAFConfig()
    return {
        "out_dim": config.fbp_dim,
        "factors": config.fbp_factors,
        "time_mixtures": config.fbp_time_mixtures,
    }


def _setup(path: str, batch: int, sizes: dict, backward: bool, seed: int = 0):
    """Inputs and a zero-argument callable running ``path`` once (forward or forward+backward)."""
    import torch

    tucker = _tucker_module()
    TuckerFusion, tucker_fusion_reference = tucker.TuckerFusion, tucker.tucker_fusion_reference

    gen = torch.Generator().manual_seed(seed)
    t, da, dv = sizes["time_steps"], sizes["audio_dim"], sizes["visual_dim"]
    layer = TuckerFusion(t, da, dv, tuple(sizes["ranks"]))
    audio = torch.randn(batch, t, da, generator=gen).requires_grad_(backward)
    visual = torch.randn(batch, t, dv, generator=gen).requires_grad_(backward)
    if path == "factorised":

        def forward():
            return layer(audio, visual)

        params = [audio, visual, *layer.parameters()]
    else:
        factors = [
            p.detach().clone().requires_grad_(backward)
            for p in (layer.factor_time, layer.factor_audio, layer.factor_visual)
        ]

        def forward():
            return tucker_fusion_reference(audio, visual, *factors)

        params = [audio, visual, *factors]

    if backward:

        def step():
            for p in params:
                p.grad = None
            out = forward()
            out.backward(torch.ones_like(out))

    else:

        def step():
            with torch.no_grad():
                forward()

    return step


def _head_setup(
    path: str, batch: int, sizes: dict, head_sizes: dict, backward: bool, seed: int = 0
):
    """Like :func:`_setup`, for the Tucker + FBP head: ``path`` is one of :data:`HEAD_PATHS`."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    t, da, dv = sizes["time_steps"], sizes["audio_dim"], sizes["visual_dim"]
    torch.manual_seed(seed)
    head = _head_module().TuckerFBP(t, da, dv, tuple(sizes["ranks"]), **head_sizes)
    audio = torch.randn(batch, t, da, generator=gen).requires_grad_(backward)
    visual = torch.randn(batch, t, dv, generator=gen).requires_grad_(backward)
    forward = {"literal": head.literal, "factorised": head.unfused, "fused": head}[path]
    params = [audio, visual, *head.parameters()]
    cotangent = torch.randn(batch, head_sizes["out_dim"], generator=gen)

    if backward:

        def step():
            for p in params:
                p.grad = None
            forward(audio, visual).backward(cotangent)

    else:

        def step():
            with torch.no_grad():
                forward(audio, visual)

    return step


def saved_for_backward(path: str, batch: int, sizes: dict, head_sizes: dict) -> int:
    """Bytes autograd keeps for the backward of one head call, beyond parameters and inputs.

    Counted with ``torch.autograd.graph.saved_tensors_hooks`` over the unique storages saved
    by the forward: exact, independent of the allocator and of the machine's load.
    """
    import torch

    t, da, dv = sizes["time_steps"], sizes["audio_dim"], sizes["visual_dim"]
    head = _head_module().TuckerFBP(t, da, dv, tuple(sizes["ranks"]), **head_sizes)
    audio = torch.randn(batch, t, da, requires_grad=True)
    visual = torch.randn(batch, t, dv, requires_grad=True)
    known = {x.untyped_storage().data_ptr() for x in (audio, visual, *head.parameters())}
    saved: dict[int, int] = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in known:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    forward = {"literal": head.literal, "factorised": head.unfused, "fused": head}[path]
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        out = forward(audio, visual)
    del out
    return sum(saved.values())


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak_rss() -> None:
    """Set this process's peak-RSS mark (``VmHWM``) to its current RSS, where Linux allows."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _peak_rss_bytes() -> int:
    """This process's own peak RSS: ``VmHWM`` (see the module doc), else ``ru_maxrss``."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _peak_child(
    path: str,
    batch: int,
    sizes: dict,
    backward: bool,
    threads: int,
    head_sizes: dict | None = None,
) -> dict:
    """In a fresh process: RSS increase of one full-size call of ``path`` (see module doc);
    of the Tucker + FBP head's ``path`` when ``head_sizes`` is given."""
    import gc

    import torch

    torch.set_num_threads(threads)
    tiny = {"time_steps": 4, "audio_dim": 4, "visual_dim": 4, "ranks": (2, 2, 2)}
    if head_sizes is None:
        _setup(path, 1, tiny, backward)()  # warm-up: thread pool, kernels, autograd engine
        step = _setup(path, batch, sizes, backward)
    else:
        tiny_head = {**head_sizes, "out_dim": 2}
        _head_setup(path, 1, tiny, tiny_head, backward)()
        step = _head_setup(path, batch, sizes, head_sizes, backward)
    gc.collect()
    _reset_peak_rss()
    max_before = _peak_rss_bytes()
    rss_before = _rss_bytes()
    step()
    max_after = _peak_rss_bytes()
    return {
        "increase_bytes": max(0, max_after - rss_before),
        "new_high_water": max_after > max_before,
    }


def peak_increases(tasks: list[tuple], processes: int = 1) -> list[dict]:
    """:func:`_peak_child` for each task, every one in its own fresh ``spawn`` process.

    Children running side by side do not disturb each other's RSS; ``processes=1`` keeps the
    machine's memory for one large case at a time.
    """
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(processes, maxtasksperchild=1) as pool:
        return pool.starmap(_peak_child, tasks, chunksize=1)


# --- timing ----------------------------------------------------------------------------------


def _time(step, repeats: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return times


def _time_interleaved(
    steps: dict[str, Callable[[], None]], repeats: dict[str, int], warmup: int = 2
) -> dict[str, list[float]]:
    """Each step's times, one call of every step per round so that all share the same load."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for round_ in range(max(repeats.values())):
        for name, step in steps.items():
            if round_ < repeats[name]:
                times[name] += _time(step, 1, warmup=0)
    return times


def _head_rounds(batch: int, quick: bool) -> dict[str, int]:
    # The literal path takes seconds per call at batch 32: fewer rounds for it.
    return {"literal": 3 if quick or batch >= 32 else 5, "factorised": 15, "fused": 30}


def _head_times(
    batch: int, sizes: dict, head_sizes: dict, backward: bool, threads: int, quick: bool
) -> dict[str, list[float]]:
    """The three head paths of one case timed interleaved, in the calling process."""
    import torch

    torch.set_num_threads(threads)
    steps = {p: _head_setup(p, batch, sizes, head_sizes, backward) for p in HEAD_PATHS}
    return _time_interleaved(steps, _head_rounds(batch, quick))


def _timing_summary(times: dict[str, list[float]]) -> dict:
    best = {p: min(times[p]) for p in HEAD_PATHS}
    med = {p: statistics.median(times[p]) for p in HEAD_PATHS}
    return {
        "repeats": {p: len(times[p]) for p in HEAD_PATHS},
        "best_ms": {p: 1e3 * best[p] for p in HEAD_PATHS},
        "median_ms": {p: 1e3 * med[p] for p in HEAD_PATHS},
        "fused_vs_literal": best["literal"] / best["fused"],
        "fused_vs_factorised": best["factorised"] / best["fused"],
        "fused_vs_literal_median": med["literal"] / med["fused"],
        "fused_vs_factorised_median": med["factorised"] / med["fused"],
    }


#: The head's two timing settings (see the module doc).
HEAD_SETTINGS = {
    "fresh_process": "each case in a fresh 'spawn' child (allocator untouched by other cases)",
    "same_process": "in this process, after the core cases (heap recycled from their GBs)",
}


def head_benchmark(
    sizes: dict, head_sizes: dict, batches: list[int], threads: int, quick: bool
) -> dict:
    """The Tucker + FBP head: literal, factorised and fused, timed interleaved (module doc)."""
    macs = head_mac_counts(**sizes, **head_sizes)
    print(
        f"\nTucker + FBP head (FBP out_dim={head_sizes['out_dim']}, k={head_sizes['factors']}, "
        f"R={head_sizes['time_mixtures']}): literal A1 + A2 then FBP, factorised TuckerFusion "
        "then FBP (the path before the fused head), fused TuckerFBP.forward"
    )
    print(
        "  multiply-accumulates per sample (head_mac_counts): "
        + ", ".join(f"{p} {macs[p]:,}" for p in HEAD_PATHS)
        + f"; MAC ratio literal/fused {macs['literal'] / macs['fused']:.1f}x, "
        f"factorised/fused {macs['factorised'] / macs['fused']:.1f}x"
    )
    print(
        "  times: the three paths interleaved, one call each per round; best (min) of the "
        "rounds, ratios of the best times (medians' ratios in brackets); two settings: "
        + "; ".join(f"{name}: {text}" for name, text in HEAD_SETTINGS.items())
    )
    grid = [(backward, batch) for backward in (False, True) for batch in batches]
    tasks = [
        (p, batch, sizes, backward, threads, head_sizes)
        for backward, batch in grid
        for p in HEAD_PATHS
    ]
    peaks = iter(peak_increases(tasks, processes=2 if quick else 1))
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1, maxtasksperchild=1) as pool:
        fresh = pool.starmap(
            _head_times,
            [(batch, sizes, head_sizes, backward, threads, quick) for backward, batch in grid],
            chunksize=1,
        )
    cases = []
    for (backward, batch), fresh_times in zip(grid, fresh, strict=True):
        mode = "forward+backward" if backward else "forward"
        mem = {p: next(peaks) for p in HEAD_PATHS}
        same = _head_times(batch, sizes, head_sizes, backward, threads, quick)
        timings = {"fresh_process": _timing_summary(fresh_times)}
        timings["same_process"] = _timing_summary(same)
        inc = {p: mem[p]["increase_bytes"] for p in HEAD_PATHS}
        saved = (
            {p: saved_for_backward(p, batch, sizes, head_sizes) for p in HEAD_PATHS}
            if backward
            else None
        )
        case = {
            "batch": batch,
            "mode": mode,
            "timings": timings,
            "peak_bytes": inc,
            "peak_new_high_water": {p: mem[p]["new_high_water"] for p in HEAD_PATHS},
            "saved_for_backward_bytes": saved,
        }
        cases.append(case)
        for name, t in timings.items():
            print(
                f"head batch {batch:3d} {mode:16s} {name:13s}: best literal "
                f"{t['best_ms']['literal']:8.1f} ms, factorised {t['best_ms']['factorised']:7.1f} "
                f"ms, fused {t['best_ms']['fused']:6.2f} ms -> fused time ratio vs literal "
                f"{t['fused_vs_literal']:6.1f}x ({t['fused_vs_literal_median']:.1f}x), vs "
                f"factorised {t['fused_vs_factorised']:5.1f}x "
                f"({t['fused_vs_factorised_median']:.1f}x)",
                flush=True,
            )
        saved_text = (
            "; saved for backward " + " vs ".join(_mb(saved[p]) for p in HEAD_PATHS)
            if saved
            else ""
        )
        mem_ratio = {p: inc[p] / inc["fused"] if inc["fused"] else None for p in HEAD_PATHS}
        ratio_text = ", ".join(
            f"{p}/fused {mem_ratio[p]:.1f}x" if mem_ratio[p] else f"{p}/fused n/a"
            for p in ("literal", "factorised")
        )
        print(
            f"head batch {batch:3d} {mode:16s} memory: peak (literal vs factorised vs fused) "
            + " vs ".join(f"+{_mb(inc[p])}" for p in HEAD_PATHS)
            + f" -> memory ratio {ratio_text}{saved_text}",
            flush=True,
        )
    goals = {
        name: {
            key: min(c["timings"][name][key] for c in cases)
            for key in ("fused_vs_literal", "fused_vs_factorised")
        }
        for name in HEAD_SETTINGS
    }
    if quick:
        print("head goals (>= 80x vs literal, >= 8x vs factorised): not assessed at tiny sizes")
    else:
        for name, worst in goals.items():
            lit, fac = worst["fused_vs_literal"], worst["fused_vs_factorised"]
            print(
                f"head goals, {name}, worst case over batch and mode (best times): fused vs "
                f"literal {lit:.1f}x (goal >= 80x: {'met' if lit >= 80 else 'NOT met'}), fused "
                f"vs factorised {fac:.1f}x (goal >= 8x: {'met' if fac >= 8 else 'NOT met'})"
            )
    return {
        "sizes": {**sizes, "ranks": list(sizes["ranks"]), **head_sizes},
        "paths": {
            "literal": "TuckerFBP.literal: tucker_fusion_reference (Algorithms A1 + A2), then FBP",
            "factorised": "TuckerFBP.unfused: TuckerFusion (the core), then FBP",
            "fused": "TuckerFBP.forward: never forms the core",
        },
        "macs_per_sample": macs,
        "timing_method": (
            "the three paths interleaved, one call each per round after two warm-up calls each; "
            "best = minimum over the rounds (ratios), median alongside; settings: "
            + "; ".join(f"{name}: {text}" for name, text in HEAD_SETTINGS.items())
        ),
        "memory_method": (
            "peak_bytes: RSS increase of one call in a fresh 'spawn' child (as the core cases); "
            "saved_for_backward_bytes: unique storages autograd saves in the forward, beyond "
            "parameters and inputs (saved_tensors_hooks)"
        ),
        "cases": cases,
        "worst_case_ratios": goals,
    }


def _gemm_step(n: int):
    import torch

    x, y = torch.randn(n, n), torch.randn(n, n)
    return lambda: torch.mm(x, y)


def efficiency(sizes: dict, batch: int, gemm_n: int, repeats: int) -> dict:
    """Factorised forward and a ``gemm_n``² fp32 ``torch.mm``, timed alternately."""
    macs = mac_counts(**sizes)["factorised"] * batch
    layer_step = _setup("factorised", batch, sizes, backward=False)
    gemm_step = _gemm_step(gemm_n)
    layer_step(), gemm_step()
    layer_t, gemm_t = [], []
    for _ in range(repeats):
        layer_t += _time(layer_step, 1, warmup=0)
        gemm_t += _time(gemm_step, 1, warmup=0)
    layer_gflops = 2 * macs / statistics.median(layer_t) / 1e9
    gemm_gflops = 2 * gemm_n**3 / statistics.median(gemm_t) / 1e9
    return {
        "batch": batch,
        "gemm_n": gemm_n,
        "factorised_ms": 1e3 * statistics.median(layer_t),
        "factorised_gflops": layer_gflops,
        "factorised_gflops_best": 2 * macs / min(layer_t) / 1e9,
        "gemm_gflops": gemm_gflops,
        "gemm_gflops_best": 2 * gemm_n**3 / min(gemm_t) / 1e9,
        "fraction": layer_gflops / gemm_gflops,
    }


def scaling(base: dict, batch: int, repeats: int, variants: list[dict]) -> list[dict]:
    rows = []
    for change in variants:
        sizes = {**base, **change}
        times = _time(_setup("factorised", batch, sizes, backward=False), repeats)
        macs = mac_counts(**sizes)
        med = statistics.median(times)
        rows.append(
            {
                "time_steps": sizes["time_steps"],
                "ranks": list(sizes["ranks"]),
                "batch": batch,
                "factorised_ms": 1e3 * med,
                "factorised_macs_per_sample": macs["factorised"],
                "literal_macs_per_sample": macs["literal"],
                "gflops": 2 * macs["factorised"] * batch / med / 1e9,
            }
        )
    return rows


# --- report ----------------------------------------------------------------------------------


def machine_info() -> dict:
    import torch

    from cmaf.evaluation.benchmarks import cpu_model

    return {
        "cpu_model": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _mb(n: float) -> str:
    return f"{n / 2**20:,.1f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="T=8, 16×16, ranks 4/8/8, batch 2")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--batches", type=int, nargs="+", help="override the batch sizes")
    parser.add_argument(
        "--head-batches", type=int, nargs="+", help="batch sizes of the head (default 8 32)"
    )
    parser.add_argument(
        "--no-head", dest="head", action="store_false", help="skip the Tucker + FBP head"
    )
    args = parser.parse_args(argv)

    import torch

    torch.manual_seed(0)
    threads = torch.get_num_threads()
    sizes = QUICK if args.quick else PAPER
    batches = args.batches or ([2] if args.quick else [8, 32, 128])
    info = machine_info()
    print(
        f"machine: {info['cpu_model']}, {info['cpu_cores']} cores, torch {info['torch']}, "
        f"{threads} threads; float32 on CPU"
    )
    t, da, dv, ranks = sizes["time_steps"], sizes["audio_dim"], sizes["visual_dim"], sizes["ranks"]
    print(f"sizes: T={t}, D_a={da}, D_v={dv}, ranks (K_t, K_a, K_v)={tuple(ranks)}")

    macs = mac_counts(**sizes)
    kt, ka, kv = ranks
    print("\nmultiply-accumulates per sample (mac_counts):")
    print(
        f"  literal    = T·Da·Dv + Kt·T·Da·Dv + Kt·Ka·Da·Dv + Kt·Ka·Kv·Dv = {t * da * dv:,} + "
        f"{kt * t * da * dv:,} + {kt * ka * da * dv:,} + {kt * ka * kv * dv:,} = "
        f"{macs['literal']:,}"
    )
    print(
        f"  factorised = T·Da·Ka + T·Dv·Kv + Kt·T·Ka + Kt·Ka·T·Kv = {t * da * ka:,} + "
        f"{t * dv * kv:,} + {kt * t * ka:,} + {kt * ka * t * kv:,} = {macs['factorised']:,}"
    )
    mac_ratio = macs["literal"] / macs["factorised"]
    print(f"  MAC ratio literal/factorised: {mac_ratio:.1f}x")
    print(
        "\npeak memory: RSS increase of one call in a fresh 'spawn' child per (case, path): "
        "peak RSS (VmHWM, reset just before) after the call minus /proc/self/statm RSS before it "
        "(inputs built and the path warmed up at tiny sizes first); includes intermediates, "
        "output, saved tensors and gradients."
    )

    grid = [(backward, batch) for backward in (False, True) for batch in batches]
    tasks = [(p, batch, sizes, backward, threads) for backward, batch in grid for p in PATHS]
    peaks = iter(peak_increases(tasks, processes=2 if args.quick else 1))
    cases = []
    for backward, batch in grid:
        mode = "forward+backward" if backward else "forward"
        mem = {p: next(peaks) for p in PATHS}
        # The literal path takes seconds per call at batch 128: fewer repeats there.
        literal_reps = 3 if args.quick else (2 if batch >= 128 else (3 if batch >= 32 else 5))
        reps = {"literal": literal_reps, "factorised": 7}
        times = {p: _time(_setup(p, batch, sizes, backward), reps[p]) for p in PATHS}
        med = {p: statistics.median(times[p]) for p in PATHS}
        inc = {p: mem[p]["increase_bytes"] for p in PATHS}
        time_ratio = med["literal"] / med["factorised"]
        mem_ratio = inc["literal"] / inc["factorised"] if inc["factorised"] > 0 else None
        case = {
            "batch": batch,
            "mode": mode,
            "repeats": {p: len(times[p]) for p in PATHS},
            "literal_ms": 1e3 * med["literal"],
            "factorised_ms": 1e3 * med["factorised"],
            "literal_ms_min": 1e3 * min(times["literal"]),
            "factorised_ms_min": 1e3 * min(times["factorised"]),
            "time_ratio": time_ratio,
            "literal_peak_bytes": inc["literal"],
            "factorised_peak_bytes": inc["factorised"],
            "peak_new_high_water": {p: mem[p]["new_high_water"] for p in PATHS},
            "memory_ratio": mem_ratio,
            "factorised_gflops": 2 * macs["factorised"] * batch / med["factorised"] / 1e9,
        }
        cases.append(case)
        mem_text = f"{mem_ratio:.1f}x" if mem_ratio else "n/a (below RSS resolution)"
        print(
            f"batch {batch:4d} {mode:16s}: literal {case['literal_ms']:9.1f} ms, factorised "
            f"{case['factorised_ms']:8.1f} ms -> time ratio {time_ratio:6.1f}x; peak "
            f"+{_mb(inc['literal'])} vs +{_mb(inc['factorised'])} -> memory ratio {mem_text}",
            flush=True,
        )

    eff_batch = 2 if args.quick else 32
    eff = efficiency(sizes, eff_batch, 256 if args.quick else 2048, 5 if args.quick else 15)
    for case in cases:
        case["fraction_of_gemm"] = case["factorised_gflops"] / eff["gemm_gflops"]

    print("\nsummary (median times; peak = RSS increase of one call):")
    header = (
        f"{'batch':>5} {'mode':16} {'literal ms':>11} {'fact. ms':>9} {'time x':>7} "
        f"{'literal peak':>13} {'fact. peak':>11} {'mem x':>6} {'fact. GF/s':>10} {'of GEMM':>8}"
    )
    print(header)
    print("-" * len(header))
    for c in cases:
        mem_x = f"{c['memory_ratio']:.1f}" if c["memory_ratio"] else "n/a"
        print(
            f"{c['batch']:>5} {c['mode']:16} {c['literal_ms']:>11.1f} {c['factorised_ms']:>9.1f} "
            f"{c['time_ratio']:>7.1f} {_mb(c['literal_peak_bytes']):>13} "
            f"{_mb(c['factorised_peak_bytes']):>11} {mem_x:>6} {c['factorised_gflops']:>10.1f} "
            f"{c['fraction_of_gemm']:>8.0%}"
        )

    print(
        f"\nGEMM efficiency at batch {eff['batch']} (forward, alternating with torch.mm "
        f"{eff['gemm_n']}x{eff['gemm_n']}, medians): factorised {eff['factorised_gflops']:.1f} "
        f"GFLOP/s ({eff['factorised_ms']:.1f} ms), GEMM {eff['gemm_gflops']:.1f} GFLOP/s "
        f"-> GEMM fraction {eff['fraction']:.0%} (goal >= 50%)"
    )

    base = dict(sizes)
    if args.quick:
        t_variants = [{"time_steps": s, "ranks": (min(4, s), 8, 8)} for s in (4, 8, 16)]
        r_variants = [{"ranks": r} for r in ((2, 4, 4), (4, 8, 8), (8, 16, 16))]
        scale_batch, scale_repeats = 2, 3
    else:
        t_variants = [{"time_steps": s, "ranks": (min(30, s), 128, 128)} for s in (15, 30, 60, 120)]
        r_variants = [{"ranks": r} for r in ((15, 64, 64), (30, 128, 128), (60, 256, 256))]
        scale_batch, scale_repeats = 32, 5
    by_t = scaling(base, scale_batch, scale_repeats, t_variants)
    by_rank = scaling(base, scale_batch, scale_repeats, r_variants)
    print(
        f"\nfactorised forward against T (batch {scale_batch}, K_t capped at T, other ranks "
        "fixed; median):"
    )
    for row in by_t:
        print(
            f"  T={row['time_steps']:4d} ranks={tuple(row['ranks'])!s:16} "
            f"{row['factorised_ms']:8.1f} ms  {row['factorised_macs_per_sample'] / 1e6:8.2f} "
            f"M MAC/sample (literal {row['literal_macs_per_sample'] / 1e6:8.1f} M)  "
            f"{row['gflops']:6.1f} GFLOP/s"
        )
    print(f"factorised forward against ranks (T={t}, batch {scale_batch}; median):")
    for row in by_rank:
        print(
            f"  ranks={tuple(row['ranks'])!s:16} {row['factorised_ms']:8.1f} ms  "
            f"{row['factorised_macs_per_sample'] / 1e6:8.2f} M MAC/sample (literal "
            f"{row['literal_macs_per_sample'] / 1e6:8.1f} M)  {row['gflops']:6.1f} GFLOP/s"
        )

    first = next(c for c in cases if c["mode"] == "forward")
    if args.quick:
        print(
            "\ngoals (>= 30x time, >= 10x peak memory at batch 8 forward): not assessed at "
            "tiny sizes"
        )
    else:
        mem = first["memory_ratio"]
        print(
            f"\ngoals at batch {first['batch']} forward: time ratio {first['time_ratio']:.1f}x "
            f"(goal >= 30x: {'met' if first['time_ratio'] >= 30 else 'NOT met'}), memory ratio "
            + (f"{mem:.1f}x (goal >= 10x: {'met' if mem >= 10 else 'NOT met'})" if mem else "n/a")
        )

    head = None
    if args.head:
        head_sizes = QUICK_HEAD if args.quick else paper_head_sizes()
        head_batches = args.head_batches or ([2] if args.quick else [8, 32])
        head = head_benchmark(sizes, head_sizes, head_batches, threads, args.quick)

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        result = {
            "benchmark": "tucker",
            "quick": args.quick,
            "machine": info,
            "sizes": {**sizes, "ranks": list(sizes["ranks"])},
            "macs_per_sample": macs,
            "mac_ratio": mac_ratio,
            "memory_method": (
                "fresh multiprocessing 'spawn' child per (case, path); peak RSS (VmHWM of "
                "/proc/self/status, reset through /proc/self/clear_refs just before) after one "
                "call minus /proc/self/statm RSS before it, after a tiny-size warm-up of the same "
                "path"
            ),
            "cases": cases,
            "gemm_efficiency": eff,
            "scaling_time_steps": by_t,
            "scaling_ranks": by_rank,
            "head": head,
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
        }
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
