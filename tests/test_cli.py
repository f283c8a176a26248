"""The bin/ scripts: input errors exit with status 2 and a message, without a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(__file__).resolve().parents[1] / "bin"


def run(script, *args):
    return subprocess.run([sys.executable, str(BIN / script), *map(str, args)], capture_output=True, text=True)


@pytest.mark.parametrize(
    ("script", "args", "message"),
    [
        ("average_bigwigs.py", ["--inputs", "missing.bw", "--fasta", "g.fa", "--output", "o.bw"],
         "bigWig file not found: missing.bw"),
        ("union_peaks.py", ["--inputs", "missing.bed", "--output", "o.bed"], "peak file not found: missing.bed"),
        ("make_targets.py", ["--windows", "none.bed", "--bigwig", "A=a.bw", "--output", "t.h5"],
         "windows file not found: none.bed"),
        ("evaluate.py", ["--checkpoint", "none.pt", "--targets", "t.h5", "--fasta", "g.fa", "--out-dir", "o"],
         "checkpoint not found: none.pt"),
        ("score_variants.py", ["--checkpoint", "c.pt", "--fasta", "g.fa", "--variants", "none.tsv", "--out", "s.tsv"],
         "variant file not found: none.tsv"),
    ],
)
def test_input_errors_exit_2_with_message(tmp_path, script, args, message):
    res = subprocess.run([sys.executable, str(BIN / script), *args], capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert f"ERROR: {message}" in res.stderr
    assert "Traceback" not in res.stderr


def test_help_and_version():
    res = run("train.py", "--help")
    assert res.returncode == 0 and "--pretrained" in res.stdout
    res = run("make_windows.py", "--version")
    assert res.returncode == 0 and res.stdout.startswith("stagevep ")


def test_software_versions_lists_packages():
    res = run("software_versions.py", "--process", "STAGEVEP:TRAIN_MODEL")
    assert res.returncode == 0
    lines = res.stdout.splitlines()
    assert lines[0] == '"STAGEVEP:TRAIN_MODEL":'
    import torch
    assert f"  torch: {torch.__version__.split('+')[0]}" in [line.split("+")[0] for line in lines]


MALLOC_PROBE = """
import ctypes, sys
from stagevep.cli import keep_freed_memory
class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
if sys.argv[1] == "tuned":
    print(keep_freed_memory())
before = libc.mallinfo2().hblkhd
block = libc.malloc(16 << 20)
print(libc.mallinfo2().hblkhd - before)  # bytes glibc served with mmap for this block
libc.free(block)
"""


@pytest.mark.parametrize("mode", ["default", "tuned", "user_tunables"])
def test_keep_freed_memory_serves_tensor_sized_blocks_from_the_heap(mode):
    """A 16 MB block (a mid-sized activation) is mmapped by default, so every tensor of that size is faulted in
    afresh; after keep_freed_memory (called by every bin/ script) it comes from the heap. GLIBC_TUNABLES that set
    malloc options are left to win."""
    env = dict(os.environ)
    if mode == "user_tunables":
        env["GLIBC_TUNABLES"] = "glibc.malloc.mmap_threshold=1048576"
    out = subprocess.run([sys.executable, "-c", MALLOC_PROBE, "tuned" if mode != "default" else "default"],
                         capture_output=True, text=True, env=env, check=True).stdout.split()
    if mode == "default":
        assert int(out[0]) >= 16 << 20
    elif mode == "tuned":
        assert out == ["True", "0"]
    else:
        assert out[0] == "False" and int(out[1]) >= 16 << 20
