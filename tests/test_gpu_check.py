"""benchmarks/gpu_check.sh in --dry-run mode (CPU, tiny model), and the MFU arithmetic of bench_train.py."""

from __future__ import annotations

import importlib.util
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "gpu_check.sh"
SECTIONS = [
    "environment",
    "CUDA unit tests (pytest -m gpu)",
    "training throughput (bench_train.py)",
    "variant scoring (bench_variants.py)",
    "variant scoring with --rc-ensemble (bench_variants.py)",
]


def bench_train():
    spec = importlib.util.spec_from_file_location("bench_train", REPO / "benchmarks" / "bench_train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sections(text: str) -> dict[str, str]:
    """``{title: body}`` of the results file's ``## title`` sections."""
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def test_dry_run_writes_every_section(tmp_path):
    results = tmp_path / "out" / "gpu_check.md"
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "2"}
    proc = subprocess.run(["bash", str(SCRIPT), "--dry-run", str(results)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)
    text = results.read_text() if results.exists() else "(no results file)"
    assert proc.returncode == 0, proc.stderr[-2000:] + "\n" + text[-4000:]
    assert "mode: dry run (CPU, tiny model, short contexts)" in text
    found = sections(text)
    assert list(found) == SECTIONS, list(found)
    for title, body in found.items():
        assert re.search(r"^exit status: 0; \d+ s$", body, flags=re.MULTILINE), f"{title}:\n{body[-2000:]}"
    # the CUDA tests are collected and skipped on the CPU, not missing
    assert re.search(r"\d+ skipped", found[SECTIONS[1]]) and "needs a CUDA GPU" in found[SECTIONS[1]]
    train = found[SECTIONS[2]]
    assert "model FLOPs per window" in train and "| MFU (bf16 peak) |" in train
    for label in ("fp32", "bf16", "bf16 + checkpointing"):
        assert re.search(rf"^\| {re.escape(label)} \| \d+\.\d+ \|", train, flags=re.MULTILINE), train
    assert "batched (--batch-size 4)" in found[SECTIONS[3]]
    assert "rc_ensemble True" in found[SECTIONS[4]] and "rc_ensemble False" in found[SECTIONS[3]]
    assert text.rstrip().endswith("all steps passed: yes")


def test_unknown_option_is_refused(tmp_path):
    proc = subprocess.run(["bash", str(SCRIPT), "--dryrun"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and "unknown option --dryrun" in proc.stderr


def test_flops_are_counted_from_the_model():
    """A Linear layer: forward 2*B*in*out; backward adds the weight gradient (the input needs none)."""
    bt = bench_train()
    forward, total = bt.step_flops(torch.nn.Linear(8, 16), torch.randn(3, 8))
    assert (forward, total) == (2 * 3 * 8 * 16, 2 * 2 * 3 * 8 * 16)
    conv = torch.nn.Conv1d(4, 6, kernel_size=5)
    forward, _ = bt.step_flops(conv, torch.randn(2, 4, 100))
    assert forward == 2 * 2 * 6 * 96 * 4 * 5  # batch x out channels x output length x in channels x kernel


def test_mfu_and_the_peak_table():
    bt = bench_train()
    assert bt.peak_bf16_tflops("NVIDIA H200") == bt.peak_bf16_tflops("NVIDIA H100 80GB HBM3") == 989.0
    assert bt.peak_bf16_tflops("NVIDIA H100 PCIe") == 756.0 and bt.peak_bf16_tflops("NVIDIA A100-SXM4-80GB") == 312.0
    assert bt.peak_bf16_tflops("NVIDIA GeForce GTX 1080") is None
    assert bt.mfu(10.0, 9.87e12, 987.0) == pytest.approx(0.1)
    assert math.isnan(bt.mfu(10.0, 1e12, None)) and math.isnan(bt.mfu(float("nan"), 1e12, 989.0))
