#!/usr/bin/env python3
"""Data-loading benchmark: one-hot context windows from the memory-mapped encoded genome vs pyfaidx per item.

Writes a random FASTA (default 3 contigs x 40 Mb, 60-bp lines, some N runs and
soft-masked stretches) in a temporary directory, then measures, in the same run:

(a) the one-off cost of encoding the genome to ``codes.npy`` (``encode_genome``);
(b) batches of full-size contexts (196,608 bp) at random positions, through
    ``WindowDataset`` + ``DataLoader`` (the training path: memory-mapped
    genome, N padding, RC + shift augmentation), against the baseline the
    package used before: per item ``pyfaidx`` fetch + N padding + one-hot by
    fancy indexing, collated into the same batches; and pyfaidx with the new
    ``np.take`` one-hot, to separate the two changes;
(c) both with a warm page cache, and the equality of the two batches.

CPU time (user + system of this process) is printed alongside wall time,
because the development machine is shared.

Run from the repository root (figures in docs/benchmarks.md):

    PATH=$PWD/.venv/bin:$PATH .venv/bin/python benchmarks/bench_data.py
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader

from stagevep.core.sequence import encode_bases, one_hot
from stagevep.data.dataset import WindowDataset, context_start
from stagevep.geometry import Geometry
from stagevep.io.encoded_genome import encode_genome
from stagevep.io.genome import fetch_padded, open_fasta


def write_fasta(path: Path, n_contigs: int, length: int, seed: int) -> dict[str, int]:
    """Random FASTA with N runs and lower-case stretches; returns contig lengths."""
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"ACGTacgtN", dtype=np.uint8)
    lengths = {}
    with open(path, "wb") as fh:
        for c in range(n_contigs):
            name = f"chr{c + 1}"
            seq = letters[rng.integers(0, 4, size=length)]
            for start in rng.integers(0, length - 50_000, size=20):  # soft-masked repeats
                seq[start : start + 5_000] = letters[rng.integers(4, 8, size=5_000)]
            seq[: 10_000] = ord("N")  # N runs at the start, as in telomeres
            fh.write(f">{name}\n".encode())
            for i in range(0, length, 60):
                fh.write(seq[i : i + 60].tobytes() + b"\n")
            lengths[name] = length
    return lengths


def cpu_seconds() -> float:
    return time.process_time()


_TABLE = np.vstack([np.eye(4, dtype=np.float32), np.zeros((1, 4), dtype=np.float32)])


def old_one_hot(seq: str) -> np.ndarray:
    """The one-hot encoding as it was before (fancy indexing of a lookup table)."""
    return _TABLE[encode_bases(seq)]


def pyfaidx_batches(fasta: Path, windows: pd.DataFrame, geometry: Geometry, batch_size: int, encode=one_hot):
    """The previous data path: pyfaidx per item, N padding, one-hot (``encode``), then collate."""
    fa = open_fasta(fasta)
    for i in range(0, len(windows), batch_size):
        items = []
        for _, row in windows.iloc[i : i + batch_size].iterrows():
            start = context_start(int(row["start"]), int(row["end"]), geometry.context_length)
            seq = fetch_padded(fa, row["chrom"], start, start + geometry.context_length)
            items.append(torch.from_numpy(encode(seq)))
        yield torch.stack(items)


def timed(fn) -> tuple[float, float, object]:
    w0, c0 = time.perf_counter(), cpu_seconds()
    out = fn()
    return time.perf_counter() - w0, cpu_seconds() - c0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--contigs", type=int, default=3)
    ap.add_argument("--length", type=int, default=40_000_000)
    ap.add_argument("--windows", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    geometry = Geometry()
    torch.set_num_threads(1)

    with tempfile.TemporaryDirectory(prefix="stagevep-bench-data-") as tmp:
        tmp = Path(tmp)
        fasta = tmp / "genome.fa"
        lengths = write_fasta(fasta, args.contigs, args.length, args.seed)
        open_fasta(fasta)  # build the .fai outside the timings
        rng = np.random.default_rng(args.seed)
        chroms = rng.choice(list(lengths), size=args.windows)
        # centres anywhere, including within a context of the ends (N padding)
        centres = [int(rng.integers(0, lengths[c])) for c in chroms]
        half = geometry.target_length // 2
        windows = pd.DataFrame({"chrom": chroms, "start": [c - half for c in centres],
                                "end": [c + half for c in centres]})
        n_bases = args.contigs * args.length

        wall, cpu, _ = timed(lambda: encode_genome(fasta, tmp / "cache"))
        print(f"encode {n_bases / 1e6:.0f} Mb once: {wall:.1f} s wall, {cpu:.1f} s CPU "
              f"({n_bases / 1e6 / max(wall, 1e-9):.1f} Mb/s)")

        ds = WindowDataset(fasta, windows, None, geometry, cache_root=tmp / "cache")
        aug = WindowDataset(fasta, windows, None, geometry, rc_augment=True, max_shift=3, cache_root=tmp / "cache")

        def loader_batches(dataset):
            return list(DataLoader(dataset, batch_size=args.batch_size, num_workers=0))

        results = {}
        for label, fn in (
            ("pyfaidx per item (baseline)", lambda: list(pyfaidx_batches(fasta, windows, geometry,
                                                                          args.batch_size, old_one_hot))),
            ("pyfaidx per item, np.take one-hot", lambda: list(pyfaidx_batches(fasta, windows, geometry,
                                                                                args.batch_size))),
            ("mmap genome, WindowDataset", lambda: [x for x, _ in loader_batches(ds)]),
            ("mmap genome, RC + shift augmentation", lambda: [x for x, _ in loader_batches(aug)]),
        ):
            fn()  # warm the page cache and the code paths
            wall, cpu, batches = timed(fn)
            results[label] = (wall, cpu, batches)

        base_wall, base_cpu, base = results["pyfaidx per item (baseline)"]
        mmap = results["mmap genome, WindowDataset"][2]
        same = all(torch.equal(a, b) for a, b in zip(base, mmap, strict=True))
        print(f"{args.windows} contexts of {geometry.context_length:,} bp in batches of {args.batch_size} "
              f"(identical batches: {same})")
        print(f"{'method':<40} {'batches/s':>10} {'windows/s':>10} {'CPU ms/window':>14} {'speed-up':>9}")
        n_batches = -(-args.windows // args.batch_size)
        for label, (wall, cpu, _) in results.items():
            print(f"{label:<40} {n_batches / wall:>10.1f} {args.windows / wall:>10.1f} "
                  f"{1000 * cpu / args.windows:>14.2f} {base_wall / wall:>8.1f}x")


if __name__ == "__main__":
    main()
