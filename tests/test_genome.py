"""FASTA access, one-hot encoding and the contig preflight."""

import numpy as np
import pytest

from conftest import write_bigwig
from stagevep.core.sequence import one_hot
from stagevep.errors import InputError
from stagevep.io.genome import fetch_padded, open_fasta
from stagevep.preflight import check_inputs


@pytest.fixture
def small_fasta(tmp_path):
    path = tmp_path / "g.fa"
    path.write_text(">chr1\nACGTNacgtRAAAA\n>chr2\nGGGG\n")
    return path


def test_one_hot_columns_and_n():
    x = one_hot("ACGTNn-a")
    assert x.shape == (8, 4) and x.dtype == np.float32
    np.testing.assert_array_equal(x[:4], np.eye(4))
    assert not x[4:7].any()
    np.testing.assert_array_equal(x[7], [1, 0, 0, 0])


def test_fetch_padded_beyond_ends(small_fasta):
    fa = open_fasta(small_fasta)
    assert fetch_padded(fa, "chr2", -3, 2) == "NNNGG"
    assert fetch_padded(fa, "chr2", 2, 7) == "GGNNN"
    assert fetch_padded(fa, "chr2", -2, 6) == "NNGGGGNN"
    assert fetch_padded(fa, "chr1", 4, 9) == "NACGT"


def test_missing_fasta(tmp_path):
    with pytest.raises(InputError, match="FASTA file not found"):
        open_fasta(tmp_path / "none.fa")


def test_preflight_accepts_bundled_data(test_data):
    check_inputs(test_data / "genome.fa", sorted((test_data / "bigwig").glob("*.bw")),
                 sorted((test_data / "peaks").iterdir()))


def test_preflight_rejects_chr_prefix_mismatch(tmp_path, test_data):
    fasta = tmp_path / "ensembl.fa"
    fasta.write_text(">1\n" + "A" * 400_000 + "\n>2\n" + "C" * 300_000 + "\n")
    with pytest.raises(InputError, match=r"CS13_rep1.bw and the FASTA .*ensembl.fa differ by the 'chr' prefix"):
        check_inputs(fasta, [test_data / "bigwig" / "CS13_rep1.bw"], [test_data / "peaks" / "CS13_rep2.bed"])


def test_preflight_rejects_length_mismatch(tmp_path, test_data):
    bw = write_bigwig(tmp_path / "hg19.bw", {"chr1": 123_456}, {"chr1": [(0, 10, 1.0)]})
    with pytest.raises(InputError, match=r"contig chr1 is 123456 bp in .*hg19.bw but 1000000 bp"):
        check_inputs(test_data / "genome.fa", [bw], [test_data / "peaks" / "CS13_rep2.bed"])


def test_preflight_checks_peak_files(tmp_path, test_data):
    peaks = tmp_path / "p.bed"
    peaks.write_text("scaffold_9\t10\t20\n")
    with pytest.raises(InputError, match="p.bed shares no contig name"):
        check_inputs(test_data / "genome.fa", [test_data / "bigwig" / "CS13_rep1.bw"], [peaks])
