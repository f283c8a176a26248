"""The synthetic variants (``functional``, ``flank``, ``far``) and their true per-stage effects."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stagevep.synthetic.config import STAGES, SyntheticConfig, revcomp
from stagevep.synthetic.genome import bump_kernel


def _creates_site(genome: dict[str, str], chrom: str, idx: int, alt: str, cfg: SyntheticConfig) -> bool:
    """Whether the base ``alt`` at 0-based ``idx`` would create or leave a motif site overlapping it."""
    width = max(len(m.site) for m in cfg.motifs)
    seq = genome[chrom]
    context = seq[max(0, idx - width + 1) : idx] + alt + seq[idx + 1 : idx + width]
    return any(m.site in context or revcomp(m.site) in context for m in cfg.motifs)


def make_variants(
    genome: dict[str, str], enhancers: pd.DataFrame, copies: pd.DataFrame, cfg: SyntheticConfig,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """``functional``, ``flank`` and ``far`` SNVs on ``cfg.variant_chroms`` with their true per-stage effects.

    Returns columns ``id chrom pos ref alt group enhancer motif_kind distance_to_motif true_stage`` and
    ``true_<stage>`` for each stage (pos 1-based; distance from the base to the nearest copy, 0 inside one).
    """
    kinds = {m.name: m for m in cfg.motifs}
    bump = cfg.copy_gain * float(bump_kernel(cfg).sum())
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
