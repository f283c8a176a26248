"""Peak reading in every format, and the union against the bedtools merge command."""

import gzip
import subprocess

import pandas as pd
import pybigtools
import pytest

from stagevep.data.peaks import union_peaks
from stagevep.errors import InputError
from stagevep.io.peaks import read_peaks

ROWS = [("chr1", 100, 200), ("chr1", 150, 300), ("chr1", 1000, 1100), ("chr2", 5, 50)]


def _write_all_formats(tmp_path):
    bed = tmp_path / "a.bed"
    bed.write_text("track name=x\n# comment\n" + "".join(f"{c}\t{s}\t{e}\tp\t0\t.\n" for c, s, e in ROWS[:2]))
    narrow = tmp_path / "b.narrowPeak"
    narrow.write_text("".join(f"{c}\t{s}\t{e}\tp\t0\t.\t1\t2\t3\t10\n" for c, s, e in ROWS[2:]))
    gapped = tmp_path / "c.gappedPeak"
    gapped.write_text("chr1\t1090\t1400\tp\t0\t.\t1090\t1400\t0\t1\t310,\t0,\t1\t2\t3\n")
    gz = tmp_path / "d.bed.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write("chr2\t40\t90\n")
    bb = tmp_path / "e.bb"
    pybigtools.open(str(bb), "w").write({"chr1": 5000, "chr2": 5000}, iter([("chr2", 2000, 2100, "p\t0\t.")]))
    return [bed, narrow, gapped, gz, bb]


def test_reads_every_format(tmp_path):
    files = _write_all_formats(tmp_path)
    got = [read_peaks(f).values.tolist() for f in files]
    assert got == [
        [["chr1", 100, 200], ["chr1", 150, 300]],
        [["chr1", 1000, 1100], ["chr2", 5, 50]],
        [["chr1", 1090, 1400]],
        [["chr2", 40, 90]],
        [["chr2", 2000, 2100]],
    ]


@pytest.mark.parametrize("distance", [0, 60, 1000])
def test_union_matches_bedtools_merge_command(tmp_path, test_data, distance):
    files = _write_all_formats(tmp_path) + sorted((test_data / "peaks").iterdir())
    text = "".join(
        f"{c}\t{s}\t{e}\n" for f in files for c, s, e in read_peaks(f).itertuples(index=False)
    )
    sorted_bed = subprocess.run(["sort", "-k1,1", "-k2,2n"], input=text, capture_output=True, text=True,
                                check=True, env={"LC_ALL": "C"}).stdout
    merged = subprocess.run(["bedtools", "merge", "-d", str(distance), "-i", "-"], input=sorted_bed,
                            capture_output=True, text=True, check=True).stdout
    expected = [(c, int(s), int(e)) for c, s, e in (line.split("\t") for line in merged.strip().split("\n"))]
    got = [tuple(r) for r in union_peaks(files, merge_distance=distance).itertuples(index=False)]
    assert got == expected


def test_merge_distance_merges_nearby_peaks(tmp_path):
    bed = tmp_path / "a.bed"
    bed.write_text("chr1\t0\t100\nchr1\t150\t200\n")
    assert len(union_peaks([bed], 0)) == 2
    assert union_peaks([bed], 50).values.tolist() == [["chr1", 0, 200]]


def test_empty_file_is_an_error(tmp_path):
    empty = tmp_path / "empty.bed"
    empty.write_text("# only a comment\n")
    with pytest.raises(InputError, match="empty.bed contains no peaks"):
        union_peaks([empty])


def test_unknown_extension_and_bad_rows(tmp_path):
    txt = tmp_path / "x.txt"
    txt.write_text("chr1\t1\t2\n")
    with pytest.raises(InputError, match="unknown peak file extension"):
        read_peaks(txt)
    bad = tmp_path / "bad.bed"
    bad.write_text("chr1\t10\n")
    with pytest.raises(InputError, match="bad.bed line 1"):
        read_peaks(bad)
    bad.write_text("chr1\tten\t20\n")
    with pytest.raises(InputError, match="not integers"):
        read_peaks(bad)


def test_union_output_is_dataframe_sorted(tmp_path):
    bed = tmp_path / "a.bed"
    bed.write_text("chr2\t5\t9\nchr1\t50\t60\nchr1\t1\t3\n")
    df = union_peaks([bed])
    assert isinstance(df, pd.DataFrame)
    assert df.values.tolist() == [["chr1", 1, 3], ["chr1", 50, 60], ["chr2", 5, 9]]
