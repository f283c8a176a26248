"""Windows: centring, bounds, split, exclusion, duplicates."""

import pandas as pd
import pytest

from stagevep.data.windows import make_windows, read_windows, write_windows_from_peaks
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
