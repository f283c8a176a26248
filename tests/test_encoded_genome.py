"""The memory-mapped encoded genome against pyfaidx and against the FASTA text itself."""

import os

import numpy as np
import pandas as pd
import pytest

from conftest import fasta_text
from stagevep.core.sequence import one_hot
from stagevep.data.dataset import WindowDataset, context_start
from stagevep.data.peaks import union_peaks
from stagevep.data.windows import make_windows
from stagevep.errors import InputError
from stagevep.geometry import Geometry
from stagevep.io.encoded_genome import EncodedGenome, cache_dir, encode_genome
from stagevep.io.genome import fasta_lengths, fetch_padded, open_fasta


def test_whole_contigs_equal_the_fasta_text(test_data):
    genome = EncodedGenome(test_data / "genome.fa")
    text = fasta_text(test_data / "genome.fa")
    assert genome.lengths == {k: len(v) for k, v in text.items()}
    for chrom, seq in text.items():
        np.testing.assert_array_equal(genome.one_hot(chrom, 0, len(seq)), one_hot(seq))


@pytest.mark.parametrize("geometry", [Geometry(n_bins=64, bin_size=128, context_length=16_384), Geometry()],
                         ids=["test-profile", "enformer"])
def test_mmap_equals_pyfaidx_for_every_window_of_the_bundled_data(test_data, geometry):
    """Every window the pipeline makes from the bundled peaks (full-size contexts run past the ends of every
    bundled chromosome, so both sides get N padding)."""
    sheet = pd.read_csv(test_data / "samplesheet.csv")
    peaks = union_peaks([test_data / p for p in sheet["peaks"]])
    windows = make_windows(peaks, fasta_lengths(test_data / "genome.fa"), geometry.target_length)
    assert len(windows) > 50
    ds = WindowDataset(test_data / "genome.fa", windows, None, geometry)
    fa = open_fasta(test_data / "genome.fa")
    for i, row in windows.reset_index(drop=True).iterrows():
        start = context_start(int(row["start"]), int(row["end"]), geometry.context_length)
        expected = one_hot(fetch_padded(fa, row["chrom"], start, start + geometry.context_length))
        np.testing.assert_array_equal(ds[i][0].numpy(), expected, err_msg=f"window {i}")


def test_n_padding_at_chromosome_ends_is_exact(test_data):
    """Contexts hanging over either end of chrY equal the FASTA string padded with N by hand."""
    genome = EncodedGenome(test_data / "genome.fa")
    seq = fasta_text(test_data / "genome.fa")["chrY"]
    n = len(seq)
    for start, end in [(-1000, 3000), (n - 2500, n + 1500), (-7, n + 9), (n + 10, n + 20), (-30, -10)]:
        by_hand = "".join(seq[p] if 0 <= p < n else "N" for p in range(start, end))
        x = genome.one_hot("chrY", start, end)
        np.testing.assert_array_equal(x, one_hot(by_hand))
        pad_rows = np.flatnonzero(~x.any(axis=1))
        assert set(range(min(end - start, max(0, -start)))) <= set(pad_rows)  # left padding is all-zero rows


def test_lower_case_and_other_letters(tmp_path):
    fasta = tmp_path / "g.fa"
    fasta.write_text(">a\nACGTNacgtRYn-\n>b\nGG\n")
    genome = EncodedGenome(fasta)
    np.testing.assert_array_equal(genome.codes("a", 0, 13), [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 4, 4, 4])
    np.testing.assert_array_equal(genome.codes("b", -1, 3), [4, 2, 2, 4])
    with pytest.raises(InputError, match="contig 'c' is not in the FASTA"):
        genome.codes("c", 0, 1)


def test_cache_is_reused_and_rebuilt_when_the_fasta_changes(tmp_path):
    fasta = tmp_path / "g.fa"
    fasta.write_text(">a\nACGT\n")
    first = encode_genome(fasta, tmp_path / "cache")
    stamp = (first / "codes.npy").stat().st_mtime_ns
    assert encode_genome(fasta, tmp_path / "cache") == first
    assert (first / "codes.npy").stat().st_mtime_ns == stamp  # not re-encoded
    fasta.write_text(">a\nTTTTGG\n")
    os.utime(fasta, ns=(stamp + 10**9, stamp + 10**9))
    assert cache_dir(fasta, tmp_path / "cache") != first
    with pytest.raises(InputError, match=r"does not match its index .*g.fa.fai .*Delete the .fai file"):
        encode_genome(fasta, tmp_path / "cache")  # the .fai still describes the old 4-bp contig
    (tmp_path / "g.fa.fai").unlink()
    np.testing.assert_array_equal(EncodedGenome(fasta, tmp_path / "cache").codes("a", 0, 6), [3, 3, 3, 3, 2, 2])
    leftovers = [p.name for p in (tmp_path / "cache").iterdir() if p.name.startswith(".")]
    assert leftovers == []  # no half-written temporary directories


def test_missing_fasta(tmp_path):
    with pytest.raises(InputError, match="FASTA file not found"):
        EncodedGenome(tmp_path / "none.fa")


def test_unwritable_cache_location_names_the_variable(tmp_path):
    fasta = tmp_path / "g.fa"
    fasta.write_text(">a\nACGT\n")
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("")
    with pytest.raises(InputError, match="cannot create the genome cache in .*not_a_dir.*Set STAGEVEP_CACHE_DIR"):
        encode_genome(fasta, blocker)
