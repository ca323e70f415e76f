"""``keep_freed_memory``: a training step reuses freed memory instead of faulting it in again."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Twenty Adam steps of a small CNN after three warm-up steps; prints the page faults per step.
PROBE = """
import resource, sys, torch
from torch import nn
from cmaf.training.loop import keep_freed_memory
kept = keep_freed_memory() if sys.argv[1] == "kept" else None
torch.manual_seed(0)
net = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
    nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 8),
)
optimizer = torch.optim.Adam(net.parameters())
x, y = torch.randn(8, 1, 64, 128), torch.randint(0, 8, (8,))
def step():
    optimizer.zero_grad()
    nn.functional.cross_entropy(net(x), y).backward()
    optimizer.step()
for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print(kept, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
"""


def _faults_per_step(mode: str) -> tuple[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0], float(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt (Linux)")
def test_training_steps_reuse_freed_memory():
    applied, kept = _faults_per_step("kept")
    if applied != "True":
        pytest.skip("libc has no mallopt (not glibc)")
    _, default = _faults_per_step("default")
    # A step's activations span thousands of pages; glibc's defaults fault many of them in
    # again at every step, unless the environment already tunes malloc (MALLOC_* variables).
    if default < 1000:
        pytest.skip(
            f"the allocator's defaults fault {default:.0f} pages a step here: nothing to fix"
        )
    assert kept * 4 < default, f"kept {kept:.0f} vs default {default:.0f} page faults per step"
