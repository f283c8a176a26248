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

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from stagevep.synthetic.config import PEAK_FORMATS, STAGES, SyntheticConfig, check_config
from stagevep.synthetic.genome import make_genome, true_signal, write_fasta
from stagevep.synthetic.signal import write_peaks, write_replicate_bigwig
from stagevep.synthetic.variants import make_variants

log = logging.getLogger(__name__)


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
    check_config(cfg)
    out = Path(out_dir)
    for sub in ("bigwig", "peaks"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    genome, enhancers, copies = make_genome(rng, cfg)
    write_fasta(out / "genome.fa", genome)
    enhancers.to_csv(out / "enhancers.tsv", sep="\t", index=False, float_format="%.6g")

    truth = true_signal(genome, copies, cfg)
    rows = []
    rep_idx = 0
    for stage, n_rep in cfg.replicates.items():
        s = STAGES.index(stage)
        for rep in range(1, n_rep + 1):
            name = f"{stage}_rep{rep}"
            bw_path = out / "bigwig" / f"{name}.bw"
            gain = float(np.exp(rng.normal(0.0, 0.15)))
            write_replicate_bigwig(bw_path, {c: v[s] for c, v in truth.items()}, gain, cfg.noise, rng)
            fmt = PEAK_FORMATS[rep_idx % len(PEAK_FORMATS)]
            peak_path = out / "peaks" / f"{name}.{fmt}"
            write_peaks(peak_path, enhancers, stage, cfg, rng)
            rows.append((stage, f"rep{rep}", f"bigwig/{bw_path.name}", f"peaks/{peak_path.name}"))
            rep_idx += 1
    pd.DataFrame(rows, columns=["stage", "replicate", "bigwig", "peaks"]).to_csv(out / "samplesheet.csv", index=False)

    variants = make_variants(genome, enhancers, copies, cfg, rng)
    variants[["id", "chrom", "pos", "ref", "alt", "group"]].to_csv(out / "variants.tsv", sep="\t", index=False)
    variants.to_csv(out / "variants_truth.tsv", sep="\t", index=False, float_format="%.6g", na_rep="NA")
    log.info(
        "synthetic dataset in %s: %d bp, %d enhancers with %d motif copies, %d bigWigs, %d variants",
        out, sum(map(len, genome.values())), len(enhancers), len(copies), len(rows), len(variants),
    )
    return out / "samplesheet.csv"
