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
same path up at tiny sizes (thread pool, kernels), reads its current RSS from
``/proc/self/statm``, runs the path once at full size and reads ``ru_maxrss`` (the high-water
mark). The increase, peak minus the RSS before, is all the memory the call touched: the
intermediates, the output and, for backward, the saved tensors and the gradients.

Arithmetic (multiply-accumulates per sample, from :func:`mac_counts`), the factorised layer's
achieved GFLOP/s (2 × MACs / time) as a fraction of a plain fp32 GEMM (``torch.mm``) timed
interleaved with it in the same run, and its cost against T and against the ranks are printed
too. Timings share the machine with whatever else runs on it: medians are reported, minima kept
in the JSON. Not a timed test.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAPER = {"time_steps": 60, "audio_dim": 256, "visual_dim": 256, "ranks": (30, 128, 128)}
QUICK = {"time_steps": 8, "audio_dim": 16, "visual_dim": 16, "ranks": (4, 8, 8)}
PATHS = ("literal", "factorised")


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


# --- one path, one call ----------------------------------------------------------------------


@functools.cache
def _tucker_module():
    """``cmaf.models.tucker``, loaded from its file alone when it can be.

    The ``cmaf.models`` package imports torchvision (seconds), which every ``spawn`` child
    would pay again; ``tucker.py`` itself needs only torch. Falls back to the package import.
    """
    path = ROOT / "cmaf" / "models" / "tucker.py"
    try:
        spec = importlib.util.spec_from_file_location("_cmaf_models_tucker", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    except (ImportError, OSError):
        from cmaf.models import tucker

        return tucker


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


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_child(path: str, batch: int, sizes: dict, backward: bool, threads: int) -> dict:
    """In a fresh process: RSS increase of one full-size call of ``path`` (see module doc)."""
    import gc

    import torch

    torch.set_num_threads(threads)
    tiny = {"time_steps": 4, "audio_dim": 4, "visual_dim": 4, "ranks": (2, 2, 2)}
    _setup(path, 1, tiny, backward)()  # warm-up: thread pool, kernels, autograd engine
    step = _setup(path, batch, sizes, backward)
    gc.collect()
    max_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    rss_before = _rss_bytes()
    step()
    max_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
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
        "ru_maxrss after the call minus /proc/self/statm RSS before it (inputs built and the "
        "path warmed up at tiny sizes first); includes intermediates, output, saved tensors and "
        "gradients."
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
                "fresh multiprocessing 'spawn' child per (case, path); ru_maxrss after one call "
                "minus /proc/self/statm RSS before it, after a tiny-size warm-up of the same path"
            ),
            "cases": cases,
            "gemm_efficiency": eff,
            "scaling_time_steps": by_t,
            "scaling_ranks": by_rank,
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
        }
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
