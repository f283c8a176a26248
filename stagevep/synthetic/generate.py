"""A small genome in which sequence determines stage-specific signal.

Enhancers are clusters of copies of one of three motifs. Each motif has an
activity per stage (``early`` falls from CS13 to CS20, ``late`` rises,
``constant`` is flat); an enhancer's signal at a stage is
``amplitude * activity[stage] * intact_copies / copies`` spread as a Gaussian
around its centre. Replicate bigWigs are that signal times a replicate gain
plus noise, written as variable-length runs (so bin sums test exactness) with
a no-data gap per chromosome. Peaks are called where the signal is strong and
written in BED, BED.gz, narrowPeak, gappedPeak and bigBed. Functional
variants change a base of a planted motif in an enhancer active in some
stage; non-functional variants lie far from every motif.
"""

from __future__ import annotations

import gzip
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pybigtools

from stagevep.io.bigwig import BigWigWriter

log = logging.getLogger(__name__)

STAGES = ("CS13", "CS14", "CS15", "CS17", "CS20")
MOTIFS = {
    "early": "TGACGTCATCGA",
    "late": "GCCATCTGGATC",
    "constant": "TTCCGGAAGTCA",
}
ACTIVITY = {
    "early": (1.0, 0.8, 0.5, 0.2, 0.05),
    "late": (0.05, 0.2, 0.5, 0.8, 1.0),
    "constant": (0.7, 0.7, 0.7, 0.7, 0.7),
}
PEAK_FORMATS = ("narrowPeak", "bed", "gappedPeak", "bb", "bed.gz")
_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


@dataclass(frozen=True)
class SyntheticConfig:
    """Sizes of the synthetic dataset."""

    chrom_lengths: dict[str, int] = field(
        default_factory=lambda: {
            "chr1": 400_000, "chr2": 300_000, "chr3": 300_000, "chr8": 240_000,
            "chr10": 240_000, "chrX": 240_000, "chrY": 80_000,
        }
    )
    replicates: dict[str, int] = field(
        default_factory=lambda: {"CS13": 3, "CS14": 2, "CS15": 2, "CS17": 2, "CS20": 1}
    )
    enhancer_spacing: int = 16_000
    copies: int = 3
    amplitude: float = 4.0
    sigma: float = 500.0
    n_functional: int = 16
    n_nonfunctional: int = 48
    gc: float = 0.41


def revcomp(seq: str) -> str:
    """Reverse complement of an ACGTN string."""
    return seq.translate(_COMPLEMENT)[::-1]


def make_synthetic_dataset(out_dir: str | Path, seed: int = 1, config: SyntheticConfig | None = None) -> Path:
    """Write the synthetic dataset to ``out_dir`` and return the samplesheet path.

    Files: ``genome.fa`` (+ ``.fai``), ``bigwig/<stage>_rep<k>.bw``,
    ``peaks/<stage>_rep<k>.<fmt>``, ``variants.tsv``, ``enhancers.tsv`` (the
    ground truth) and ``samplesheet.csv`` with paths relative to ``out_dir``.
    Identical for identical ``seed`` and ``config``.
    """
    cfg = config or SyntheticConfig()
    out = Path(out_dir)
    for sub in ("bigwig", "peaks"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    genome, enhancers = _make_genome(rng, cfg)
    _write_fasta(out / "genome.fa", genome)
    enhancers.to_csv(out / "enhancers.tsv", sep="\t", index=False)

    truth = _true_signal(genome, enhancers, cfg)
    rows = []
    rep_idx = 0
    for stage, n_rep in cfg.replicates.items():
        s = STAGES.index(stage)
        for rep in range(1, n_rep + 1):
            name = f"{stage}_rep{rep}"
            bw_path = out / "bigwig" / f"{name}.bw"
            gain = float(np.exp(rng.normal(0.0, 0.15)))
            _write_replicate_bigwig(bw_path, {c: v[s] for c, v in truth.items()}, gain, rng)
            fmt = PEAK_FORMATS[rep_idx % len(PEAK_FORMATS)]
            peak_path = out / "peaks" / f"{name}.{fmt}"
            _write_peaks(peak_path, enhancers, s, cfg, rng)
            rows.append((stage, f"rep{rep}", f"bigwig/{bw_path.name}", f"peaks/{peak_path.name}"))
            rep_idx += 1
    pd.DataFrame(rows, columns=["stage", "replicate", "bigwig", "peaks"]).to_csv(out / "samplesheet.csv", index=False)

    variants = _make_variants(genome, enhancers, cfg, rng)
    variants.to_csv(out / "variants.tsv", sep="\t", index=False)
    log.info(
        "synthetic dataset in %s: %d bp, %d enhancers, %d bigWigs, %d variants",
        out, sum(map(len, genome.values())), len(enhancers), len(rows), len(variants),
    )
    return out / "samplesheet.csv"


def _make_genome(rng: np.random.Generator, cfg: SyntheticConfig) -> tuple[dict[str, str], pd.DataFrame]:
    at = (1 - cfg.gc) / 2
    probs = [at, cfg.gc / 2, cfg.gc / 2, at]
    genome: dict[str, str] = {}
    records = []
    types = list(MOTIFS)
    for chrom, length in cfg.chrom_lengths.items():
        seq = np.array(list("ACGT"))[rng.choice(4, size=length, p=probs)]
        margin = cfg.enhancer_spacing // 2
        centres = np.arange(margin, length - margin + 1, cfg.enhancer_spacing)
        centres = centres + rng.integers(-2000, 2001, size=len(centres))
        for k, centre in enumerate(centres):
            kind = types[int(rng.integers(len(types)))]
            motif = MOTIFS[kind]
            offsets = np.sort(rng.choice(np.arange(-160, 161, 40), size=cfg.copies, replace=False))
            starts = []
            for off in offsets:
                strand = "+" if rng.random() < 0.5 else "-"
                site = motif if strand == "+" else revcomp(motif)
                pos = int(centre + off - len(motif) // 2)
                seq[pos : pos + len(motif)] = list(site)
                starts.append(f"{pos}{strand}")
            records.append(
                {"chrom": chrom, "centre": int(centre), "kind": kind, "name": f"{chrom}_enh{k + 1}",
                 "motif_sites": ",".join(starts)}
            )
        genome[chrom] = "".join(seq)
    return genome, pd.DataFrame(records)


def _sites(enh: pd.Series) -> list[tuple[int, str]]:
    return [(int(s[:-1]), s[-1]) for s in enh["motif_sites"].split(",")]


def _intact_fraction(seq: str, enh: pd.Series) -> float:
    motif = MOTIFS[enh["kind"]]
    intact = 0
    for pos, strand in _sites(enh):
        site = motif if strand == "+" else revcomp(motif)
        intact += seq[pos : pos + len(motif)] == site
    return intact / len(_sites(enh))


def _true_signal(genome: dict[str, str], enhancers: pd.DataFrame, cfg: SyntheticConfig) -> dict[str, np.ndarray]:
    """Per chromosome, float64 ``(n_stages, length)`` noiseless signal."""
    out = {}
    half = int(4 * cfg.sigma)
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / cfg.sigma) ** 2)
    for chrom, seq in genome.items():
        sig = np.zeros((len(STAGES), len(seq)))
        for _, enh in enhancers[enhancers["chrom"] == chrom].iterrows():
            strength = cfg.amplitude * _intact_fraction(seq, enh)
            lo, hi = enh["centre"] - half, enh["centre"] + half + 1
            for s, act in enumerate(ACTIVITY[enh["kind"]]):
                sig[s, lo:hi] += strength * act * kernel
        out[chrom] = sig
    return out


def _write_replicate_bigwig(path: Path, truth: dict[str, np.ndarray], gain: float, rng: np.random.Generator) -> None:
    chroms = [(c, len(v)) for c, v in truth.items()]
    with BigWigWriter(path, chroms) as writer:
        for chrom, signal in truth.items():
            length = len(signal)
            bounds = np.cumsum(rng.integers(20, 300, size=length // 20 + 1))
            bounds = np.concatenate([[0], bounds[bounds < length], [length]])
            starts, ends = bounds[:-1], bounds[1:]
            csum = np.concatenate([[0.0], np.cumsum(signal)])
            means = (csum[ends] - csum[starts]) / (ends - starts)
            noise = np.abs(rng.normal(0.0, 0.08, size=len(starts)))
            values = np.round(means * gain + noise, 3)
            gap_start = int(rng.integers(0, length - 5000))
            keep = (ends <= gap_start) | (starts >= gap_start + int(rng.integers(1000, 5000)))
            writer.add_runs(chrom, starts[keep], ends[keep], values[keep])


def _write_peaks(
    path: Path, enhancers: pd.DataFrame, stage: int, cfg: SyntheticConfig, rng: np.random.Generator
) -> None:
    rows = []
    for _, enh in enhancers.iterrows():
        act = ACTIVITY[enh["kind"]][stage]
        if act < 0.3:
            continue
        centre = int(enh["centre"] + rng.normal(0, 80))
        half = int(rng.integers(250, 700))
        score = int(min(1000, 1000 * act))
        rows.append((enh["chrom"], centre - half, centre + half, score, act))
    chrom_order = {c: i for i, c in enumerate(cfg.chrom_lengths)}
    rows.sort(key=lambda r: (chrom_order[r[0]], r[1]))
    fmt = path.name.split(".", 1)[1]
    if fmt == "bb":
        pybigtools_rows = ((c, s, e, f"peak{i}\t{sc}\t.") for i, (c, s, e, sc, _) in enumerate(rows))
        bb = pybigtools.open(str(path), "w")
        bb.write(dict(cfg.chrom_lengths), pybigtools_rows)
        return
    lines = []
    for i, (chrom, start, end, score, act) in enumerate(rows):
        name = f"peak{i}"
        if fmt.startswith("bed"):
            lines.append(f"{chrom}\t{start}\t{end}\t{name}\t{score}\t.")
        elif fmt == "narrowPeak":
            signal = f"{act * 10:.3f}\t{act * 8:.3f}\t{act * 6:.3f}"
            lines.append(f"{chrom}\t{start}\t{end}\t{name}\t{score}\t.\t{signal}\t{(end - start) // 2}")
        else:  # gappedPeak: one block spanning the peak
            lines.append(
                f"{chrom}\t{start}\t{end}\t{name}\t{score}\t.\t{start}\t{end}\t0\t1\t{end - start},\t0,\t"
                f"{act * 10:.3f}\t{act * 8:.3f}\t{act * 6:.3f}"
            )
    text = "track name=synthetic_peaks\n" + "\n".join(lines) + "\n"
    if fmt.endswith(".gz"):
        with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
            gz.write(text.encode())
    else:
        path.write_text(text)


def _make_variants(
    genome: dict[str, str], enhancers: pd.DataFrame, cfg: SyntheticConfig, rng: np.random.Generator
) -> pd.DataFrame:
    rows = []
    chosen = enhancers.iloc[rng.permutation(len(enhancers))[: cfg.n_functional]]
    for _, enh in chosen.iterrows():
        motif = MOTIFS[enh["kind"]]
        pos, _strand = _sites(enh)[int(rng.integers(cfg.copies))]
        idx = pos + int(rng.integers(2, len(motif) - 2))  # 0-based genome index inside the motif
        ref = genome[enh["chrom"]][idx]
        alt = str(rng.choice([b for b in "ACGT" if b != ref]))
        rows.append((enh["chrom"], idx + 1, ref, alt, "functional", enh["name"]))
    site_pos = {c: np.array([p for _, e in g.iterrows() for p, _ in _sites(e)]) for c, g in enhancers.groupby("chrom")}
    chroms = [c for c in cfg.chrom_lengths if c in site_pos]
    while sum(r[4] == "nonfunctional" for r in rows) < cfg.n_nonfunctional:
        chrom = chroms[int(rng.integers(len(chroms)))]
        idx = int(rng.integers(1000, cfg.chrom_lengths[chrom] - 1000))
        if np.min(np.abs(site_pos[chrom] - idx)) < 3000:
            continue
        ref = genome[chrom][idx]
        alt = str(rng.choice([b for b in "ACGT" if b != ref]))
        context = genome[chrom][idx - 12 : idx] + alt + genome[chrom][idx + 1 : idx + 13]
        if any(m in context or revcomp(m) in context for m in MOTIFS.values()):
            continue
        rows.append((chrom, idx + 1, ref, alt, "nonfunctional", ""))
    df = pd.DataFrame(rows, columns=["chrom", "pos", "ref", "alt", "group", "enhancer"])
    order = {c: i for i, c in enumerate(cfg.chrom_lengths)}
    df = df.assign(_o=df["chrom"].map(order)).sort_values(["_o", "pos"], kind="stable").drop(columns="_o")
    df.insert(0, "id", [f"var{i + 1:03d}" for i in range(len(df))])
    return df.drop(columns="enhancer").reset_index(drop=True)


def _write_fasta(path: Path, genome: dict[str, str], width: int = 60) -> None:
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
