"""The synthetic dataset: reproducible, and sequence really determines signal."""

import filecmp

import numpy as np
import pandas as pd
import pyfaidx

from conftest import raw_values
from stagevep.synthetic import make_synthetic_dataset
from stagevep.synthetic.generate import ACTIVITY, MOTIFS, STAGES, revcomp


def test_generator_reproduces_bundled_dataset(tmp_path, test_data):
    make_synthetic_dataset(tmp_path, seed=1)
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    bundled = sorted(p.relative_to(test_data) for p in test_data.rglob("*") if p.is_file())
    assert generated == bundled
    for rel in generated:
        assert filecmp.cmp(tmp_path / rel, test_data / rel, shallow=False), f"{rel} differs from the bundled copy"


def test_other_seed_gives_other_genome(tmp_path, test_data):
    make_synthetic_dataset(tmp_path, seed=2)
    assert not filecmp.cmp(tmp_path / "genome.fa", test_data / "genome.fa", shallow=False)


def test_dataset_covers_splits_formats_and_stages(test_data):
    fa = pyfaidx.Fasta(str(test_data / "genome.fa"))
    assert {"chr1", "chr2", "chr3", "chr8", "chr10", "chrX", "chrY"} <= set(fa.keys())
    sheet = pd.read_csv(test_data / "samplesheet.csv")
    assert list(dict.fromkeys(sheet["stage"])) == list(STAGES)
    assert sheet.groupby("stage").size().between(1, 5).all()
    suffixes = {p.split(".", 1)[1] for p in sheet["peaks"]}
    assert {"bed", "bed.gz", "narrowPeak", "gappedPeak", "bb"} <= suffixes


def test_planted_motifs_and_variants(test_data):
    fa = pyfaidx.Fasta(str(test_data / "genome.fa"), as_raw=True)
    enh = pd.read_csv(test_data / "enhancers.tsv", sep="\t")
    variants = pd.read_csv(test_data / "variants.tsv", sep="\t")
    sites = []
    for row in enh.itertuples():
        motif = MOTIFS[row.kind]
        for site in row.motif_sites.split(","):
            pos, strand = int(site[:-1]), site[-1]
            expected = motif if strand == "+" else revcomp(motif)
            assert fa[row.chrom][pos : pos + len(motif)] == expected
            sites.append((row.chrom, pos, pos + len(motif)))
    for v in variants.itertuples():
        assert fa[v.chrom][v.pos - 1] == v.ref  # 1-based pos, REF matches the genome
        inside = any(c == v.chrom and s <= v.pos - 1 < e for c, s, e in sites)
        nearest = min(abs(s - (v.pos - 1)) for c, s, _ in sites if c == v.chrom)
        if v.group == "functional":
            assert inside
        else:
            assert not inside and nearest >= 3000


def test_signal_follows_stage_activity(test_data):
    """Early enhancers are stronger at CS13 than CS20, late ones the reverse (replicate bigWigs)."""
    enh = pd.read_csv(test_data / "enhancers.tsv", sep="\t")
    sheet = pd.read_csv(test_data / "samplesheet.csv")
    first = sheet.groupby("stage").first()
    for kind in ("early", "late"):
        rows = enh[enh["kind"] == kind].head(5)
        signal = {}
        for stage in ("CS13", "CS20"):
            path = test_data / first.loc[stage, "bigwig"]
            signal[stage] = np.mean([raw_values(path, r.chrom, r.centre - 200, r.centre + 200).mean()
                                     for r in rows.itertuples()])
        early_high = ACTIVITY[kind][0] > ACTIVITY[kind][-1]
        assert (signal["CS13"] > signal["CS20"]) == early_high
