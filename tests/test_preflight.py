"""Preflight: contig names and lengths of every input against the FASTA, and the FASTA index."""

import gzip
import logging
import subprocess
import sys
from pathlib import Path

import pybigtools
import pytest

from conftest import write_bigwig
from stagevep.errors import InputError
from stagevep.io.genome import fasta_lengths, open_fasta
from stagevep.preflight import check_inputs

BIN = Path(__file__).resolve().parents[1] / "bin"


@pytest.fixture
def bundled(test_data):
    return (test_data / "genome.fa", sorted((test_data / "bigwig").glob("*.bw")),
            sorted((test_data / "peaks").iterdir()))


def _fai_lengths(path):
    """Contig lengths straight from the bundled .fai (written by samtools-compatible code)."""
    return {line.split("\t")[0]: int(line.split("\t")[1]) for line in path.read_text().splitlines()}


@pytest.mark.parametrize(("name", "text"), [
    ("ensembl.bed", "1\t100\t200\n2\t5\t50\n"),
    ("ensembl.narrowPeak.gz", "X\t100\t200\tp\t0\t.\t1\t2\t3\t10\n"),
])
def test_chr_prefix_mismatch_in_a_peak_file_names_examples_and_fix(tmp_path, bundled, name, text):
    fasta, bigwigs, peaks = bundled
    path = tmp_path / name
    if name.endswith(".gz"):
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    first = text.split("\t")[0]
    with pytest.raises(InputError) as err:
        check_inputs(fasta, bigwigs, [*peaks, path])
    msg = str(err.value)
    assert f"{name} and the FASTA" in msg and "differ by the 'chr' prefix" in msg
    assert f"'{first}'" in msg and f"'chr{first}'" in msg, "the message shows an example in both styles"
    assert "sed -E" in msg and "bedGraphToBigWig" in msg, "the message says how to rename"


def test_chr_prefixed_bigwig_against_ensembl_fasta(tmp_path, test_data):
    fasta = tmp_path / "ensembl.fa"
    fasta.write_text(">1\n" + "A" * 400_000 + "\n>MT\n" + "C" * 16_569 + "\n")
    bw = write_bigwig(tmp_path / "ucsc.bw", {"chr1": 400_000, "chrM": 16_569}, {"chr1": [(0, 10, 1.0)]})
    with pytest.raises(InputError, match=r"ucsc.bw and the FASTA .* 'chr1', 'chrM' are '1', 'MT' in the FASTA"):
        check_inputs(fasta, [bw], [test_data / "peaks" / "CS13_rep2.bed"])


def test_length_mismatch_in_a_bigbed_header(tmp_path, bundled):
    fasta, bigwigs, _ = bundled
    bb = tmp_path / "hg19.bb"
    pybigtools.open(str(bb), "w").write({"chr2": 243_199_373}, iter([("chr2", 10, 100, "p\t0\t.")]))
    with pytest.raises(InputError, match=r"contig chr2 is 243199373 bp in .*hg19.bb but 450000 bp in the FASTA"):
        check_inputs(fasta, bigwigs, [bb])


def test_peak_beyond_the_fasta_contig_is_a_build_mismatch(tmp_path, bundled):
    fasta, bigwigs, _ = bundled
    bed = tmp_path / "other_build.bed"
    bed.write_text("chr1\t10\t20\nchr2\t449000\t450050\n")
    with pytest.raises(InputError, match=r"other_build.bed has intervals on chr2 up to 450050 bp, but chr2 is "
                                         r"450000 bp in the FASTA .*different genome builds"):
        check_inputs(fasta, bigwigs, [bed])


def test_contigs_missing_from_the_fasta_are_allowed_and_logged(tmp_path, bundled, caplog):
    fasta, bigwigs, peaks = bundled
    bw = write_bigwig(tmp_path / "extra.bw", {"chr1": 1_000_000, "chrUn_x": 5_000}, {"chr1": [(0, 10, 1.0)]})
    with caplog.at_level(logging.WARNING):
        check_inputs(fasta, [*bigwigs, bw], peaks)
    assert "extra.bw: 1 contig(s) absent from the FASTA are ignored: ['chrUn_x']" in caplog.text


def test_blacklist_contigs_are_checked(tmp_path, bundled):
    fasta, bigwigs, peaks = bundled
    bl = tmp_path / "bl.bed"
    bl.write_text("chr1\t0\t100\nchr1_KI270706v1_random\t0\t10\n")
    with pytest.raises(InputError, match=r"bl.bed names 1 contig\(s\) absent from the FASTA .*chr1_KI270706v1_random"):
        check_inputs(fasta, bigwigs, peaks, blacklist=bl)
    bl.write_text("1\t0\t100\n")
    with pytest.raises(InputError, match="bl.bed and the FASTA .* differ by the 'chr' prefix"):
        check_inputs(fasta, bigwigs, peaks, blacklist=bl)
    bl.write_text("chr1\t0\t100\nchrY\t5\t10\n")
    check_inputs(fasta, bigwigs, peaks, blacklist=bl)


def test_fasta_without_index_gets_one(tmp_path, test_data):
    fasta = tmp_path / "genome.fa"
    fasta.write_bytes((test_data / "genome.fa").read_bytes())
    assert not (tmp_path / "genome.fa.fai").exists()
    assert fasta_lengths(fasta) == _fai_lengths(test_data / "genome.fa.fai")
    assert (tmp_path / "genome.fa.fai").read_text() == (test_data / "genome.fa.fai").read_text()


def test_fasta_index_that_cannot_be_written_says_how(tmp_path, test_data):
    fasta = tmp_path / "genome.fa"
    fasta.write_bytes((test_data / "genome.fa").read_bytes())
    (tmp_path / "genome.fa.fai").mkdir()  # the index path is taken: writing it fails as on a read-only disk
    with pytest.raises(InputError, match=r"has no index \(genome.fa.fai\) and it cannot be written there.*"
                                         r"`samtools faidx genome.fa`"):
        open_fasta(fasta)


def test_fasta_in_a_read_only_directory_says_how(tmp_path, test_data, monkeypatch):
    fasta = tmp_path / "genome.fa"
    fasta.write_bytes((test_data / "genome.fa").read_bytes())
    monkeypatch.setattr("stagevep.io.genome.os.access", lambda path, mode: False)
    with pytest.raises(InputError, match=r"cannot be written there \(directory not writable\).*samtools faidx"):
        open_fasta(fasta)
    assert not (tmp_path / "genome.fa.fai").exists()


def test_check_inputs_script_exits_2_with_one_message(tmp_path, test_data):
    bed = tmp_path / "ensembl.bed"
    bed.write_text("1\t100\t200\n")
    res = subprocess.run([sys.executable, str(BIN / "check_inputs.py"), "--fasta", str(test_data / "genome.fa"),
                          "--bigwigs", str(test_data / "bigwig" / "CS13_rep1.bw"), "--peaks", str(bed)],
                         capture_output=True, text=True)
    assert res.returncode == 2
    errors = [line for line in res.stderr.splitlines() if line.startswith("ERROR: ")]
    assert len(errors) == 1 and "differ by the 'chr' prefix" in errors[0]
    assert "Traceback" not in res.stderr
