"""The synthetic genome: random sequence with planted motif copies, their noiseless signal, and its FASTA."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from stagevep.synthetic.config import STAGES, SyntheticConfig, revcomp


def make_genome(
    rng: np.random.Generator, cfg: SyntheticConfig
) -> tuple[dict[str, str], pd.DataFrame, pd.DataFrame]:
    """Random sequence with planted enhancers; returns the genome, ``enhancers`` and one row per motif ``copy``."""
    at = (1 - cfg.gc) / 2
    probs = [at, cfg.gc / 2, cfg.gc / 2, at]
    kinds = {m.name: m for m in cfg.motifs}
    width = max(len(m.site) for m in cfg.motifs)
    slots = np.arange(-cfg.site_spread, cfg.site_spread - width + 1, width + 8)
    genome: dict[str, str] = {}
    enhancers, copies = [], []
    for chrom, length in cfg.chrom_lengths.items():
        seq = np.array(list("ACGT"))[rng.choice(4, size=length, p=probs)]
        margin = cfg.enhancer_spacing // 2
        centres = np.arange(margin, length - margin + 1, cfg.enhancer_spacing)
        centres = centres + rng.integers(-cfg.spacing_jitter, cfg.spacing_jitter + 1, size=len(centres))
        for k, centre in enumerate(centres):
            name = f"{chrom}_enh{k + 1}"
            n = int(rng.integers(cfg.min_copies, cfg.max_copies + 1))
            offsets = np.sort(rng.choice(slots, size=n, replace=False))
            activity = np.zeros(len(STAGES))
            sites, names = [], []
            for off in offsets:
                kind = kinds[cfg.motifs[int(rng.integers(len(cfg.motifs)))].name]
                strand = "+" if rng.random() < 0.5 else "-"
                site = kind.site if strand == "+" else revcomp(kind.site)
                pos = int(centre + off)
                seq[pos : pos + len(site)] = list(site)
                activity += np.array(kind.activity)
                copies.append({"chrom": chrom, "start": pos, "end": pos + len(site), "strand": strand,
                               "kind": kind.name, "enhancer": name})
                sites.append(f"{pos}{strand}")
                names.append(kind.name)
            enhancers.append({
                "chrom": chrom, "centre": int(centre), "name": name, "n_copies": n, "kinds": ",".join(names),
                "motif_sites": ",".join(sites),
                **{f"activity_{s}": float(a) for s, a in zip(STAGES, activity, strict=True)},
            })
        genome[chrom] = "".join(seq)
    return genome, pd.DataFrame(enhancers), pd.DataFrame(copies)


def bump_kernel(cfg: SyntheticConfig) -> np.ndarray:
    """The Gaussian bump of one motif copy, ``(2 * int(4 * sigma) + 1,)``, peak 1."""
    half = int(4 * cfg.sigma)
    return np.exp(-0.5 * (np.arange(-half, half + 1) / cfg.sigma) ** 2)


def true_signal(genome: dict[str, str], copies: pd.DataFrame, cfg: SyntheticConfig) -> dict[str, np.ndarray]:
    """Per chromosome, float64 ``(n_stages, length)`` noiseless signal of the intact copies in ``genome``."""
    kinds = {m.name: m for m in cfg.motifs}
    kernel = bump_kernel(cfg)
    half = len(kernel) // 2
    out = {}
    for chrom, seq in genome.items():
        sig = np.zeros((len(STAGES), len(seq)))
        for c in copies[copies["chrom"] == chrom].itertuples(index=False):
            kind = kinds[c.kind]
            site = kind.site if c.strand == "+" else revcomp(kind.site)
            if seq[c.start : c.end] != site:
                continue
            mid = (c.start + c.end) // 2
            lo, hi = max(0, mid - half), min(len(seq), mid + half + 1)
            bump = kernel[lo - (mid - half) : len(kernel) - (mid + half + 1 - hi)]
            sig[:, lo:hi] += cfg.copy_gain * np.array(kind.activity)[:, None] * bump
        out[chrom] = sig
    return out


def write_fasta(path: Path, genome: dict[str, str], width: int = 60) -> None:
    """Write ``genome`` as a FASTA of ``width``-base lines and its ``.fai`` index beside it."""
    fai = []
    offset = 0
    with open(path, "w") as fh:
        for chrom, seq in genome.items():
            header = f">{chrom}\n"
            fh.write(header)
            offset += len(header)
            fai.append(f"{chrom}\t{len(seq)}\t{offset}\t{width}\t{width + 1}")
            for i in range(0, len(seq), width):
                line = seq[i : i + width] + "\n"
                fh.write(line)
                offset += len(line)
    Path(str(path) + ".fai").write_text("\n".join(fai) + "\n")
