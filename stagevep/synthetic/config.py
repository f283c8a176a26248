"""The synthetic dataset's stages, motif grammars and sizes (:class:`SyntheticConfig`) and named presets."""

from __future__ import annotations

from dataclasses import dataclass, field

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


def check_config(cfg: SyntheticConfig) -> None:
    """Raise ``ValueError`` for motif kinds that cannot be planted unambiguously."""
    sites = [m.site for m in cfg.motifs]
    for m in cfg.motifs:
        if len(m.activity) != len(STAGES):
            raise ValueError(f"motif {m.name}: {len(m.activity)} activities for {len(STAGES)} stages")
        if m.site == revcomp(m.site):
            raise ValueError(f"motif {m.name}: {m.site} is its own reverse complement (strand would be ambiguous)")
    if len(set(sites) | {revcomp(s) for s in sites}) != 2 * len(sites):
        raise ValueError("motif sites must differ from each other and from each other's reverse complements")
