"""Windows: centring, bounds, split, exclusion, duplicates."""

import gzip
import subprocess

import numpy as np
import pandas as pd
import pytest

from stagevep.data.windows import (
    DROP_REASONS,
    make_windows,
    read_windows,
    select_windows,
    write_windows_from_peaks,
)
from stagevep.errors import InputError

LENGTHS = {"chr1": 100_000, "chr2": 50_000, "chr8": 50_000, "chrY": 50_000}


def _peaks(rows):
    return pd.DataFrame(rows, columns=["chrom", "start", "end"])


def test_centred_windows_and_split():
    peaks = _peaks([("chr1", 40_000, 40_101), ("chr2", 20_000, 20_200), ("chr8", 25_000, 25_010)])
    w = make_windows(peaks, LENGTHS, 8192, val_chroms=["chr8"], test_chroms=["chr2"])
    centres = [(40_000 + 40_101) // 2, 20_100, 25_005]
    assert w["start"].tolist() == [c - 4096 for c in centres]
    assert (w["end"] - w["start"] == 8192).all()
    assert w["split"].tolist() == ["train", "test", "val"]
    assert w["name"].iloc[0] == f"chr1:{centres[0] - 4096}-{centres[0] + 4096}"


def test_out_of_bounds_excluded_unknown_and_duplicates_dropped():
    peaks = _peaks([
        ("chr1", 100, 200),            # window would start below 0
        ("chr1", 99_900, 99_990),      # window would pass the end
        ("chr1", 50_000, 50_100), ("chr1", 50_000, 50_100),  # duplicate
        ("chrY", 20_000, 20_100),      # excluded
        ("chrUn", 20_000, 20_100),     # not in the FASTA
        ("chr1", 8192 // 2 - 50, 8192 // 2 + 50),  # exactly touches 0: kept
    ])
    w = make_windows(peaks, LENGTHS, 8192)
    assert w[["chrom", "start"]].values.tolist() == [["chr1", 0], ["chr1", 50_050 - 4096]]


def test_order_follows_fasta_then_start():
    peaks = _peaks([("chr2", 30_000, 30_010), ("chr1", 60_000, 60_010), ("chr1", 20_000, 20_010)])
    w = make_windows(peaks, LENGTHS, 1024)
    assert w["chrom"].tolist() == ["chr1", "chr1", "chr2"]
    assert w["start"].is_monotonic_increasing is False  # chr2 restarts
    assert w["start"].iloc[0] < w["start"].iloc[1]


def test_val_test_overlap_is_an_error():
    with pytest.raises(InputError, match="both the validation and the test"):
        make_windows(_peaks([("chr1", 50_000, 50_100)]), LENGTHS, 1024, val_chroms=["chr1"], test_chroms=["chr1"])


def test_no_window_left_is_an_error():
    with pytest.raises(InputError, match="no window remains"):
        make_windows(_peaks([("chrY", 20_000, 20_100)]), LENGTHS, 1024)


def test_file_roundtrip(tmp_path, test_data):
    bed = tmp_path / "u.bed"
    bed.write_text("chr1\t100000\t100500\nchr2\t50000\t50400\nchrY\t30000\t30100\n")
    out = tmp_path / "w.bed"
    write_windows_from_peaks(bed, test_data / "genome.fa", out, n_bins=64, bin_size=128, context_length=16384)
    w = read_windows(out)
    assert w["split"].tolist() == ["train", "test"]
    assert (w["end"] - w["start"] == 64 * 128).all()


def _bed_text(df):
    return df[["chrom", "start", "end"]].to_csv(sep="\t", header=False, index=False)


def _random_peaks(seed, lengths, n=400):
    rng = np.random.default_rng(seed)
    chroms = rng.choice(list(lengths), size=n)
    starts = [int(rng.integers(0, lengths[c] - 500)) for c in chroms]
    return _peaks([(str(c), s, s + int(rng.integers(50, 500))) for c, s in zip(chroms, starts, strict=True)])


BIG = {"chr1": 2_000_000, "chr2": 1_500_000, "chr8": 1_000_000, "chr10": 1_000_000, "chrX": 900_000,
       "chrY": 500_000, "chrUn_KI270302v1": 400_000}


def test_primary_default_keep_and_exclude_overrides():
    peaks = _peaks([(c, 200_000, 200_100) for c in BIG])
    assert make_windows(peaks, BIG, 8192)["chrom"].tolist() == ["chr1", "chr2", "chr8", "chr10", "chrX"]
    got = make_windows(peaks, BIG, 8192, keep_chroms="all", exclude_chroms=[])["chrom"].tolist()
    assert got == list(BIG)
    assert make_windows(peaks, BIG, 8192, keep_chroms="all")["chrom"].tolist() == [c for c in BIG if c != "chrY"]
    assert make_windows(peaks, BIG, 8192, keep_chroms="chr10,chr1")["chrom"].tolist() == ["chr1", "chr10"]
    with pytest.raises(InputError, match=r"--keep-chroms names contig\(s\) absent from the FASTA: \['chr23'\]"):
        make_windows(peaks, BIG, 8192, keep_chroms="chr1,chr23")


def test_primary_understands_ensembl_names():
    lengths = {"1": 100_000, "2": 100_000, "X": 100_000, "Y": 100_000, "MT": 16_569, "KI270302.1": 90_000}
    peaks = _peaks([(c, 8_000, 8_100) for c in lengths])
    assert make_windows(peaks, lengths, 8192, val_chroms=["2"], test_chroms=[])["chrom"].tolist() == ["1", "2", "X"]


def test_blacklist_removes_exactly_the_windows_bedtools_intersect_finds(tmp_path):
    peaks = _random_peaks(0, BIG)
    rng = np.random.default_rng(1)
    bl = _peaks([(c, int(s), int(s) + int(rng.integers(1, 5_000)))
                 for c, s in zip(rng.choice(["chr1", "chr2", "chrX"], 40), rng.integers(0, 800_000, 40),
                                 strict=True)])
    target = 8192
    unfiltered = make_windows(peaks, BIG, target)
    got = make_windows(peaks, BIG, target, blacklist=bl)
    (tmp_path / "w.bed").write_text(_bed_text(unfiltered))
    (tmp_path / "bl.bed").write_text(_bed_text(bl))
    out = subprocess.run(["bedtools", "intersect", "-v", "-a", tmp_path / "w.bed", "-b", tmp_path / "bl.bed"],
                         capture_output=True, text=True, check=True).stdout
    want = [(c, int(s), int(e)) for c, s, e in (line.split("\t")[:3] for line in out.strip().split("\n"))]
    assert [tuple(r) for r in got[["chrom", "start", "end"]].itertuples(index=False)] == want
    assert 0 < len(unfiltered) - len(got) < len(unfiltered) / 2, "the blacklist should remove some windows"


def test_no_window_overlaps_the_context_of_another_splits_window(tmp_path):
    context = 16_384
    w = make_windows(_random_peaks(2, BIG, n=600), BIG, 8192, val_chroms=["chr8"], test_chroms=["chr2", "chr10"])
    assert set(w["split"]) == {"train", "val", "test"}
    centre = (w["start"] + w["end"]) // 2
    ctx = w.assign(start=(centre - context // 2).clip(lower=0), end=centre + context // 2)
    for split in ("train", "val", "test"):
        (tmp_path / "a.bed").write_text(_bed_text(w[w["split"] == split]))
        (tmp_path / "b.bed").write_text(_bed_text(ctx[ctx["split"] != split]))
        hits = subprocess.run(["bedtools", "intersect", "-u", "-a", tmp_path / "a.bed", "-b", tmp_path / "b.bed"],
                              capture_output=True, text=True, check=True).stdout
        assert hits == "", f"{split} windows overlap other splits' contexts:\n{hits[:500]}"


def test_summary_counts_every_peak_once_with_its_reason():
    peaks = _peaks([
        ("chr1", 100, 200),                       # outside_chromosome
        ("chr1", 50_000, 50_100), ("chr1", 50_000, 50_100),  # one window + duplicate
        ("chr2", 20_000, 20_100),                 # test window
        ("chrY", 20_000, 20_100),                 # not_kept (primary)
        ("chrUn", 20_000, 20_100),                # unknown_contig
        ("chr8", 30_000, 30_100),                 # blacklisted
    ])
    sel = select_windows(peaks, LENGTHS, 8192, val_chroms=["chr8"], test_chroms=["chr2"],
                         blacklist=_peaks([("chr8", 29_000, 29_001)]))
    s = sel.summary.set_index(["chrom", "split"])
    assert s.loc[("chr1", "train"), ["peaks", "windows", "outside_chromosome", "duplicate"]].tolist() == [3, 1, 1, 1]
    assert s.loc[("chrY", "none"), "not_kept"] == 1
    assert s.loc[("chrUn", "none"), "unknown_contig"] == 1
    assert s.loc[("chr8", "val"), ["windows", "blacklisted"]].tolist() == [0, 1]
    total = s.loc[("all", "all")]
    assert total["peaks"] == len(peaks) == total[["windows", *DROP_REASONS]].sum()
    assert total["windows"] == len(sel.windows) == 2
    assert s.loc[("all", "test"), "windows"] == 1


def test_order_is_deterministic_whatever_the_peak_order():
    peaks = _random_peaks(3, BIG)
    a = make_windows(peaks, BIG, 8192)
    b = make_windows(peaks.sample(frac=1, random_state=0), BIG, 8192)
    pd.testing.assert_frame_equal(a, b)
    order = {c: i for i, c in enumerate(BIG)}
    keys = list(zip(a["chrom"].map(order), a["start"], strict=True))
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_blacklist_file_with_unknown_contigs_is_an_error(tmp_path, test_data):
    bed = tmp_path / "u.bed"
    bed.write_text("chr1\t100000\t100500\n")
    bl = tmp_path / "bl.bed"
    bl.write_text("chr1\t0\t10\nchrUn_gl000220\t5\t50\n")
    with pytest.raises(InputError, match=r"bl.bed names 1 contig\(s\) absent from the FASTA .*chrUn_gl000220"):
        write_windows_from_peaks(bed, test_data / "genome.fa", tmp_path / "w.bed", n_bins=64,
                                 context_length=16384, blacklist=bl)
    assert not (tmp_path / "w.bed").exists(), "no windows file may be written when the inputs are bad"


def test_file_level_writes_windows_and_summary(tmp_path, test_data):
    bed = tmp_path / "u.bed"
    bed.write_text("chr1\t100000\t100500\nchr1\t200000\t200500\nchr2\t50000\t50400\n")
    bl = tmp_path / "bl.bed.gz"
    with gzip.open(bl, "wt") as fh:
        fh.write("track name=blacklist\nchr1\t199000\t199100\n")
    summary = tmp_path / "summary.tsv"
    w = write_windows_from_peaks(bed, test_data / "genome.fa", tmp_path / "w.bed", n_bins=64, context_length=16384,
                                 blacklist=bl, summary=summary)
    assert read_windows(tmp_path / "w.bed")[["chrom", "start"]].values.tolist() == \
        w[["chrom", "start"]].values.tolist() == [["chr1", 100250 - 4096], ["chr2", 50200 - 4096]]
    table = pd.read_csv(summary, sep="\t")
    assert table.loc[table["chrom"] == "chr1", "blacklisted"].tolist() == [1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bl.bed.gz", "summary.tsv", "u.bed", "w.bed"]


def test_an_empty_split_is_logged(caplog):
    peaks = _peaks([("chr1", 50_000, 50_100), ("chr2", 20_000, 20_100)])
    with caplog.at_level("WARNING"):
        make_windows(peaks, LENGTHS, 8192, val_chroms=["chr8"], test_chroms=["chr2"])
    assert "no window in the ['val'] split(s)" in caplog.text
