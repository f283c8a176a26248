"""The synthetic dataset: reproducible, and its sequence alone determines amplitude, stage profile and effects."""

import filecmp

import numpy as np
import pandas as pd
import pyfaidx
import pytest

from conftest import raw_values
from stagevep.synthetic import make_synthetic_dataset
from stagevep.synthetic.config import DEFAULT_MOTIFS, PRESETS, SECOND_MOTIFS, STAGES, SyntheticConfig, revcomp

KINDS = {m.name: m for m in DEFAULT_MOTIFS}


@pytest.fixture(scope="module")
def truth(test_data):
    enh = pd.read_csv(test_data / "enhancers.tsv", sep="\t")
    variants = pd.read_csv(test_data / "variants_truth.tsv", sep="\t", keep_default_na=False)
    return enh, variants


def copies_of(enh: pd.DataFrame) -> pd.DataFrame:
    """One row per planted copy, read back from enhancers.tsv."""
    rows = []
    for e in enh.itertuples(index=False):
        for site, kind in zip(e.motif_sites.split(","), e.kinds.split(","), strict=True):
            start = int(site[:-1])
            rows.append((e.chrom, start, start + len(KINDS[kind].site), site[-1], kind, e.name))
    return pd.DataFrame(rows, columns=["chrom", "start", "end", "strand", "kind", "enhancer"])


def test_generator_reproduces_bundled_dataset(tmp_path, test_data):
    make_synthetic_dataset(tmp_path, seed=1)
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    bundled = sorted(p.relative_to(test_data) for p in test_data.rglob("*") if p.is_file())
    assert generated == bundled
    for rel in generated:
        assert filecmp.cmp(tmp_path / rel, test_data / rel, shallow=False), f"{rel} differs from the bundled copy"


def test_other_seed_gives_other_genome(tmp_path, test_data):
    small = SyntheticConfig(chrom_lengths={"chr1": 200_000, "chr2": 500_000}, variant_chroms=("chr2",))
    make_synthetic_dataset(tmp_path / "a", seed=2, config=small)
    make_synthetic_dataset(tmp_path / "b", seed=3, config=small)
    assert not filecmp.cmp(tmp_path / "a" / "genome.fa", tmp_path / "b" / "genome.fa", shallow=False)


def test_second_preset_is_another_grammar(tmp_path):
    config, seed = PRESETS["second"]
    assert seed != PRESETS["default"][1]
    assert {m.site for m in SECOND_MOTIFS}.isdisjoint({m.site for m in DEFAULT_MOTIFS})
    assert {m.activity for m in SECOND_MOTIFS} != {m.activity for m in DEFAULT_MOTIFS}
    small = SyntheticConfig(chrom_lengths={"chr1": 150_000, "chr2": 450_000}, variant_chroms=("chr2",),
                            motifs=config.motifs, n_per_group=10)
    make_synthetic_dataset(tmp_path, seed=seed, config=small)
    enh = pd.read_csv(tmp_path / "enhancers.tsv", sep="\t")
    assert set(",".join(enh["kinds"]).split(",")) == {m.name for m in SECOND_MOTIFS}


def test_dataset_covers_splits_formats_and_stages(test_data, truth):
    fa = pyfaidx.Fasta(str(test_data / "genome.fa"))
    assert {"chr1", "chr2", "chr3", "chr8", "chr10", "chrX", "chrY"} <= set(fa.keys())
    sheet = pd.read_csv(test_data / "samplesheet.csv")
    assert list(dict.fromkeys(sheet["stage"])) == list(STAGES)
    assert sheet.groupby("stage").size().between(1, 5).all()
    suffixes = {p.split(".", 1)[1] for p in sheet["peaks"]}
    assert {"bed", "bed.gz", "narrowPeak", "gappedPeak", "bb"} <= suffixes
    enh, _ = truth
    assert enh["chrom"].isin(["chr2", "chr10"]).sum() >= 100  # enough held-out enhancers for >= 100 test windows
    size = sum(p.stat().st_size for p in test_data.rglob("*") if p.is_file())
    assert size < 8e6, f"the bundled dataset is {size / 1e6:.1f} MB"


def test_grammar_four_kinds_mixed_copies(test_data, truth):
    """Four kinds with falling, rising, mid-peaking and constant profiles; 1-4 copies of mixed kinds, intact."""
    patterns = {m.name: np.array(m.activity) for m in DEFAULT_MOTIFS}
    assert np.all(np.diff(patterns["early"]) < 0) and np.all(np.diff(patterns["late"]) > 0)
    assert np.argmax(patterns["mid"]) == 2 and np.ptp(patterns["constant"]) == 0
    enh, _ = truth
    assert set(enh["n_copies"]) == {1, 2, 3, 4}
    assert (enh["kinds"].str.split(",").map(lambda k: len(set(k))) > 1).mean() > 0.3
    fa = pyfaidx.Fasta(str(test_data / "genome.fa"), as_raw=True)
    copies = copies_of(enh)
    for c in copies.itertuples(index=False):
        site = KINDS[c.kind].site
        assert fa[c.chrom][c.start : c.end] == (site if c.strand == "+" else revcomp(site))
    # activity is additive over the copies
    for e in enh.head(50).itertuples(index=False):
        expected = sum(patterns[k] for k in e.kinds.split(","))
        np.testing.assert_allclose([getattr(e, f"activity_{s}") for s in STAGES], expected, atol=1e-9)


def test_signal_follows_copies_in_amplitude_and_stage(test_data, truth):
    """Replicate bigWigs (read with pyBigWig) follow each enhancer's additive activity, stage by stage."""
    enh, _ = truth
    sheet = pd.read_csv(test_data / "samplesheet.csv")
    first = sheet.groupby("stage").first()
    rows = enh[enh["chrom"] == "chr1"].head(60)
    signal = np.array([[raw_values(test_data / first.loc[s, "bigwig"], r.chrom, r.centre - 400,
                                   r.centre + 400).sum() for s in STAGES] for r in rows.itertuples()])
    activity = rows[[f"activity_{s}" for s in STAGES]].to_numpy()
    for t in range(len(STAGES)):  # between enhancers: amplitude
        assert np.corrcoef(signal[:, t], activity[:, t])[0, 1] > 0.9
    dev_s = signal / signal.mean(axis=1, keepdims=True)
    dev_a = activity / activity.mean(axis=1, keepdims=True)
    assert np.corrcoef(dev_s.ravel(), dev_a.ravel())[0, 1] > 0.8  # within enhancers: stage profile


def test_variant_groups_and_true_effects(test_data, truth):
    enh, var = truth
    fa = pyfaidx.Fasta(str(test_data / "genome.fa"), as_raw=True)
    table = pd.read_csv(test_data / "variants.tsv", sep="\t")
    assert list(table.columns) == ["id", "chrom", "pos", "ref", "alt", "group"]
    assert table["id"].tolist() == var["id"].tolist()
    assert var["group"].value_counts().to_dict() == {"functional": 48, "flank": 48, "far": 48}
    assert set(var["chrom"]) <= {"chr2", "chr10"}  # held-out chromosomes only
    config = SyntheticConfig()
    bump = config.copy_gain * np.exp(-0.5 * (np.arange(-800, 801) / config.sigma) ** 2).sum()
    copies = copies_of(enh)
    centres = enh.set_index("name")["centre"]
    sites = [m.site for m in DEFAULT_MOTIFS] + [revcomp(m.site) for m in DEFAULT_MOTIFS]
    for v in var.itertuples(index=False):
        idx = v.pos - 1
        assert fa[v.chrom][idx] == v.ref != v.alt
        own = copies[copies["chrom"] == v.chrom]
        gap = np.where(idx < own["start"], own["start"] - idx, np.where(idx >= own["end"], idx - own["end"] + 1, 0))
        assert v.distance_to_motif == gap.min()
        effect = np.array([getattr(v, f"true_{s}") for s in STAGES])
        window = fa[v.chrom][idx - 11 : idx] + v.alt + fa[v.chrom][idx + 1 : idx + 12]
        assert not any(s in window for s in sites)  # the alt allele creates no site
        if v.group == "functional":
            hit = own[(own["start"] <= idx) & (idx < own["end"])].iloc[0]
            assert hit["enhancer"] == v.enhancer and hit["kind"] == v.motif_kind
            np.testing.assert_allclose(effect, -bump * np.array(KINDS[v.motif_kind].activity), rtol=1e-5)
            peak = STAGES[int(np.argmax(KINDS[v.motif_kind].activity))]
            assert v.true_stage == ("" if v.motif_kind == "constant" else peak)
        else:
            assert np.all(effect == 0) and v.true_stage == ""
            if v.group == "flank":
                assert v.distance_to_motif >= config.flank_gap
                assert abs(idx - centres[v.enhancer]) <= config.flank_spread
            else:
                assert v.distance_to_motif >= config.far_distance
    functional = var[var["group"] == "functional"]
    assert set(functional["enhancer"]) == set(var.loc[var["group"] == "flank", "enhancer"])
    assert set(functional["motif_kind"]) == set(KINDS)


def test_bad_grammar_is_refused():
    from stagevep.synthetic.config import MotifKind

    palindrome = (MotifKind("p", "ACGCGT", (1.0,) * 5),)
    with pytest.raises(ValueError, match="reverse complement"):
        make_synthetic_dataset("/nonexistent", config=SyntheticConfig(motifs=palindrome))
