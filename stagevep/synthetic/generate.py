"""A small genome in which the sequence alone determines stage-specific signal.

Each enhancer holds 1-4 copies of motifs of mixed kinds. A kind has an
activity per stage (:data:`DEFAULT_MOTIFS`: ``early`` falls from CS13 to CS20,
``late`` rises, ``mid`` peaks at CS15, ``constant`` is flat). Every intact copy
adds ``copy_gain * activity[kind][stage]`` times a Gaussian bump centred on
the copy, so both an enhancer's amplitude (how many copies) and its stage
profile (which kinds) are written in its sequence, and breaking one copy
removes exactly that copy's bump. Replicate bigWigs are the noiseless signal
times a replicate gain plus noise, written as variable-length runs (so bin sums
test exactness) with a no-data gap per chromosome. Peaks are called where a
stage's activity is high and written in BED, BED.gz, narrowPeak, gappedPeak and
bigBed.

Variants lie on the held-out chromosomes in three groups:

- ``functional``: a base inside a motif copy (the copy is broken; its true
  effect is the loss of that copy's signal at every stage);
- ``flank``: a base of the same enhancers, off every motif (the location-matched
  null: true effect 0);
- ``far``: a base at least ``far_distance`` bp from every motif (true effect 0).

``variants_truth.tsv`` gives the true per-stage effect of each: the change of
the noiseless signal summed over all bases (signal x bp, before replicate gains).
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
PEAK_FORMATS = ("narrowPeak", "bed", "gappedPeak", "bb", "bed.gz")
VARIANT_GROUPS = ("functional", "flank", "far")
_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


@dataclass(frozen=True)
class MotifKind:
    """A planted motif: its site (+ strand) and its activity at each of :data:`STAGES`."""

    name: str
    site: str
    activity: tuple[float, ...]


#: the bundled dataset's motif kinds: falling, rising, peaking mid-way and constant
DEFAULT_MOTIFS = (
    MotifKind("early", "TGACGTCATCGA", (1.0, 0.6, 0.3, 0.12, 0.04)),
    MotifKind("late", "GCCATCTGGATC", (0.04, 0.12, 0.3, 0.6, 1.0)),
    MotifKind("mid", "CAGGTGTTAACG", (0.1, 0.45, 1.0, 0.45, 0.1)),
    MotifKind("constant", "TTCCGGAAGTCA", (0.5, 0.5, 0.5, 0.5, 0.5)),
)

#: a second grammar for checks that must not depend on one set of motifs: other sites (10 bp), other patterns
SECOND_MOTIFS = (
    MotifKind("falling", "GATAAGGCTA", (1.0, 0.8, 0.45, 0.15, 0.05)),
    MotifKind("rising", "CCAATCGGTA", (0.05, 0.15, 0.45, 0.8, 1.0)),
    MotifKind("midway", "AGTTTCACGC", (0.15, 0.6, 1.0, 0.6, 0.15)),
    MotifKind("flat", "TCCGCATGAA", (0.6, 0.6, 0.6, 0.6, 0.6)),
)


@dataclass(frozen=True)
class SyntheticConfig:
    """Sizes and grammar of the synthetic dataset (lengths in bp, signal per base)."""

    chrom_lengths: dict[str, int] = field(
        default_factory=lambda: {
            "chr1": 1_000_000, "chr2": 450_000, "chr3": 800_000, "chr4": 600_000, "chr8": 350_000,
            "chr10": 420_000, "chrX": 600_000, "chrY": 80_000,
        }
    )
    replicates: dict[str, int] = field(
        default_factory=lambda: {"CS13": 3, "CS14": 2, "CS15": 2, "CS17": 2, "CS20": 1}
    )
    motifs: tuple[MotifKind, ...] = DEFAULT_MOTIFS
    enhancer_spacing: int = 8_000
    spacing_jitter: int = 600
    min_copies: int = 1
    max_copies: int = 4
    #: copies are placed at offsets up to this far from the enhancer centre
    site_spread: int = 300
    copy_gain: float = 1.5
    sigma: float = 200.0
    noise: float = 0.005
    #: a stage's peaks are called where an enhancer's total activity (in copies) reaches this
    peak_threshold: float = 0.3
    variant_chroms: tuple[str, ...] = ("chr2", "chr10")
    n_per_group: int = 48
    #: flank variants lie within this distance of the enhancer centre and at least flank_gap bp from any copy
    flank_spread: int = 400
    flank_gap: int = 20
    far_distance: int = 3000
    gc: float = 0.41


#: named configurations: ``default`` is the bundled dataset (seed 1), ``second`` another grammar (seed 2)
PRESETS: dict[str, tuple[SyntheticConfig, int]] = {
    "default": (SyntheticConfig(), 1),
    "second": (SyntheticConfig(motifs=SECOND_MOTIFS), 2),
}


def revcomp(seq: str) -> str:
    """Reverse complement of an ACGTN string."""
    return seq.translate(_COMPLEMENT)[::-1]


def make_synthetic_dataset(out_dir: str | Path, seed: int = 1, config: SyntheticConfig | None = None) -> Path:
    """Write the synthetic dataset to ``out_dir`` and return the samplesheet path.

    Files: ``genome.fa`` (+ ``.fai``), ``bigwig/<stage>_rep<k>.bw``,
    ``peaks/<stage>_rep<k>.<fmt>``, ``variants.tsv`` (the pipeline input:
    ``id chrom pos ref alt group``), ``variants_truth.tsv`` (true per-stage
    effect of each variant), ``enhancers.tsv`` (every enhancer: its copies and
    true activity per stage) and ``samplesheet.csv`` with paths relative to
    ``out_dir``. Identical bytes for identical ``seed`` and ``config``.
    """
    cfg = config or SyntheticConfig()
    _check_config(cfg)
    out = Path(out_dir)
    for sub in ("bigwig", "peaks"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    genome, enhancers, copies = _make_genome(rng, cfg)
    _write_fasta(out / "genome.fa", genome)
    enhancers.to_csv(out / "enhancers.tsv", sep="\t", index=False, float_format="%.6g")

    truth = _true_signal(genome, copies, cfg)
    rows = []
    rep_idx = 0
    for stage, n_rep in cfg.replicates.items():
        s = STAGES.index(stage)
        for rep in range(1, n_rep + 1):
            name = f"{stage}_rep{rep}"
            bw_path = out / "bigwig" / f"{name}.bw"
            gain = float(np.exp(rng.normal(0.0, 0.15)))
            _write_replicate_bigwig(bw_path, {c: v[s] for c, v in truth.items()}, gain, cfg.noise, rng)
            fmt = PEAK_FORMATS[rep_idx % len(PEAK_FORMATS)]
            peak_path = out / "peaks" / f"{name}.{fmt}"
            _write_peaks(peak_path, enhancers, stage, cfg, rng)
            rows.append((stage, f"rep{rep}", f"bigwig/{bw_path.name}", f"peaks/{peak_path.name}"))
            rep_idx += 1
    pd.DataFrame(rows, columns=["stage", "replicate", "bigwig", "peaks"]).to_csv(out / "samplesheet.csv", index=False)

    variants = _make_variants(genome, enhancers, copies, cfg, rng)
    variants[["id", "chrom", "pos", "ref", "alt", "group"]].to_csv(out / "variants.tsv", sep="\t", index=False)
    variants.to_csv(out / "variants_truth.tsv", sep="\t", index=False, float_format="%.6g", na_rep="NA")
    log.info(
        "synthetic dataset in %s: %d bp, %d enhancers with %d motif copies, %d bigWigs, %d variants",
        out, sum(map(len, genome.values())), len(enhancers), len(copies), len(rows), len(variants),
    )
    return out / "samplesheet.csv"


def _check_config(cfg: SyntheticConfig) -> None:
    sites = [m.site for m in cfg.motifs]
    for m in cfg.motifs:
        if len(m.activity) != len(STAGES):
            raise ValueError(f"motif {m.name}: {len(m.activity)} activities for {len(STAGES)} stages")
        if m.site == revcomp(m.site):
            raise ValueError(f"motif {m.name}: {m.site} is its own reverse complement (strand would be ambiguous)")
    if len(set(sites) | {revcomp(s) for s in sites}) != 2 * len(sites):
        raise ValueError("motif sites must differ from each other and from each other's reverse complements")


def _make_genome(
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


def _kernel(cfg: SyntheticConfig) -> np.ndarray:
    half = int(4 * cfg.sigma)
    return np.exp(-0.5 * (np.arange(-half, half + 1) / cfg.sigma) ** 2)


def _true_signal(genome: dict[str, str], copies: pd.DataFrame, cfg: SyntheticConfig) -> dict[str, np.ndarray]:
    """Per chromosome, float64 ``(n_stages, length)`` noiseless signal of the intact copies in ``genome``."""
    kinds = {m.name: m for m in cfg.motifs}
    kernel = _kernel(cfg)
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


def _write_replicate_bigwig(
    path: Path, truth: dict[str, np.ndarray], gain: float, noise: float, rng: np.random.Generator
) -> None:
    """Runs of 20-300 bp where there is signal and 300-3000 bp elsewhere, each at its mean value plus noise."""
    chroms = [(c, len(v)) for c, v in truth.items()]
    with BigWigWriter(path, chroms) as writer:
        for chrom, signal in truth.items():
            length = len(signal)
            starts, ends = _runs(signal > 1e-3, rng)
            csum = np.concatenate([[0.0], np.cumsum(signal)])
            means = (csum[ends] - csum[starts]) / (ends - starts)
            values = np.round(means * gain + np.abs(rng.normal(0.0, noise, size=len(starts))), 3)
            gap_start = int(rng.integers(0, length - 5000))
            keep = (ends <= gap_start) | (starts >= gap_start + int(rng.integers(1000, 5000)))
            writer.add_runs(chrom, starts[keep], ends[keep], values[keep])


def _runs(active: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Run ``(starts, ends)`` tiling ``active`` ``(length,)``: 20-300 bp inside active bases, 300-3000 bp
    elsewhere (a long run stops where the next active base starts)."""
    length = len(active)
    on = np.flatnonzero(active)
    short = rng.integers(20, 300, size=length // 20 + 1)
    long = rng.integers(300, 3000, size=length // 300 + 1)
    bounds, pos, k = [0], 0, 0
    while pos < length:
        if active[pos]:
            pos += int(short[k % len(short)])
        else:
            nxt = np.searchsorted(on, pos)
            limit = int(on[nxt]) if nxt < len(on) else length
            pos = min(pos + int(long[k % len(long)]), limit)
        k += 1
        bounds.append(min(pos, length))
    b = np.asarray(bounds)
    return b[:-1], b[1:]


def _write_peaks(
    path: Path, enhancers: pd.DataFrame, stage: str, cfg: SyntheticConfig, rng: np.random.Generator
) -> None:
    rows = []
    for enh in enhancers.itertuples(index=False):
        act = float(getattr(enh, f"activity_{stage}"))
        if act < cfg.peak_threshold:
            continue
        centre = int(enh.centre + rng.normal(0, 80))
        half = int(rng.integers(250, 700))
        score = int(min(1000, 250 * act))
        rows.append((enh.chrom, centre - half, centre + half, score, act))
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


def _creates_site(genome: dict[str, str], chrom: str, idx: int, alt: str, cfg: SyntheticConfig) -> bool:
    """Whether the base ``alt`` at 0-based ``idx`` would create or leave a motif site overlapping it."""
    width = max(len(m.site) for m in cfg.motifs)
    seq = genome[chrom]
    context = seq[max(0, idx - width + 1) : idx] + alt + seq[idx + 1 : idx + width]
    return any(m.site in context or revcomp(m.site) in context for m in cfg.motifs)


def _make_variants(
    genome: dict[str, str], enhancers: pd.DataFrame, copies: pd.DataFrame, cfg: SyntheticConfig,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """``functional``, ``flank`` and ``far`` SNVs on ``cfg.variant_chroms`` with their true per-stage effects.

    Returns columns ``id chrom pos ref alt group enhancer motif_kind distance_to_motif true_stage`` and
    ``true_<stage>`` for each stage (pos 1-based; distance from the base to the nearest copy, 0 inside one).
    """
    kinds = {m.name: m for m in cfg.motifs}
    bump = cfg.copy_gain * float(_kernel(cfg).sum())
    on_chroms = copies[copies["chrom"].isin(cfg.variant_chroms)]
    starts = {c: g["start"].to_numpy() for c, g in copies.groupby("chrom")}
    ends = {c: g["end"].to_numpy() for c, g in copies.groupby("chrom")}

    def distance(chrom: str, idx: int) -> int:
        s, e = starts[chrom], ends[chrom]
        return int(np.min(np.where(idx < s, s - idx, np.where(idx >= e, idx - e + 1, 0))))

    def pick_alt(chrom: str, idx: int) -> str | None:
        ref = genome[chrom][idx]
        alt = str(rng.choice([b for b in "ACGT" if b != ref]))
        return None if _creates_site(genome, chrom, idx, alt, cfg) else alt

    rows = []
    zero = {f"true_{s}": 0.0 for s in STAGES}
    enh_names = on_chroms["enhancer"].unique()
    if len(enh_names) < cfg.n_per_group:
        raise ValueError(f"{len(enh_names)} enhancers on {cfg.variant_chroms}: fewer than n_per_group")
    chosen = rng.permutation(enh_names)[: cfg.n_per_group]
    centres = enhancers.set_index("name")["centre"]
    for name in chosen:
        own = on_chroms[on_chroms["enhancer"] == name]
        c = own.iloc[int(rng.integers(len(own)))]
        chrom = str(c["chrom"])
        while True:  # functional: a base inside the copy, leaving no site behind
            idx = int(c["start"]) + int(rng.integers(1, int(c["end"]) - int(c["start"]) - 1))
            alt = pick_alt(chrom, idx)
            if alt is not None:
                break
        kind = kinds[str(c["kind"])]
        effect = {f"true_{s}": -bump * a for s, a in zip(STAGES, kind.activity, strict=True)}
        true_stage = STAGES[int(np.argmax(kind.activity))] if len(set(kind.activity)) > 1 else ""
        rows.append({"chrom": chrom, "idx": idx, "alt": alt, "group": "functional", "enhancer": name,
                     "motif_kind": kind.name, "true_stage": true_stage, **effect})
        centre = int(centres[name])
        while True:  # flank: same enhancer, off every copy
            idx = centre + int(rng.integers(-cfg.flank_spread, cfg.flank_spread + 1))
            alt = pick_alt(chrom, idx) if distance(chrom, idx) >= cfg.flank_gap else None
            if alt is not None:
                break
        rows.append({"chrom": chrom, "idx": idx, "alt": alt, "group": "flank", "enhancer": name,
                     "motif_kind": "", "true_stage": "", **zero})
    chroms = list(cfg.variant_chroms)
    n_far = 0
    while n_far < cfg.n_per_group:  # far: at least far_distance from every copy
        chrom = chroms[int(rng.integers(len(chroms)))]
        idx = int(rng.integers(1000, cfg.chrom_lengths[chrom] - 1000))
        if distance(chrom, idx) < cfg.far_distance:
            continue
        alt = pick_alt(chrom, idx)
        if alt is None:
            continue
        rows.append({"chrom": chrom, "idx": idx, "alt": alt, "group": "far", "enhancer": "", "motif_kind": "",
                     "true_stage": "", **zero})
        n_far += 1
    df = pd.DataFrame(rows)
    df["pos"] = df["idx"] + 1
    df["ref"] = [genome[c][i] for c, i in zip(df["chrom"], df["idx"], strict=True)]
    df["distance_to_motif"] = [distance(c, i) for c, i in zip(df["chrom"], df["idx"], strict=True)]
    order = {c: i for i, c in enumerate(cfg.chrom_lengths)}
    df = df.assign(_o=df["chrom"].map(order)).sort_values(["_o", "pos"], kind="stable").reset_index(drop=True)
    df.insert(0, "id", [f"var{i + 1:03d}" for i in range(len(df))])
    columns = ["id", "chrom", "pos", "ref", "alt", "group", "enhancer", "motif_kind", "distance_to_motif",
               "true_stage", *(f"true_{s}" for s in STAGES)]
    return df[columns]


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
