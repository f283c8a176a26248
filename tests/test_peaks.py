"""Peak reading in every format, and the union against the bedtools merge command."""

import gzip
import subprocess

import numpy as np
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
    xls = tmp_path / "x_peaks.xls"  # MACS2's spreadsheet, not a BED
    xls.write_text("chr1\t1\t2\n")
    with pytest.raises(InputError, match="unknown peak file extension"):
        read_peaks(xls)
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


def _bedtools_merge(rows: list[tuple[str, int, int]], distance: int) -> list[tuple[str, int, int]]:
    """``sort -k1,1 -k2,2n | bedtools merge -d distance`` of BED3 rows (the reference)."""
    text = "".join(f"{c}\t{s}\t{e}\n" for c, s, e in rows)
    srt = subprocess.run(["sort", "-k1,1", "-k2,2n"], input=text, capture_output=True, text=True, check=True,
                         env={"LC_ALL": "C"}).stdout
    out = subprocess.run(["bedtools", "merge", "-d", str(distance), "-i", "-"], input=srt, capture_output=True,
                         text=True, check=True).stdout
    return [(c, int(s), int(e)) for c, s, e in (line.split("\t") for line in out.strip().split("\n"))]


def _random_rows(seed: int, n: int = 300) -> list[tuple[str, int, int]]:
    rng = np.random.default_rng(seed)
    chroms = rng.choice(["chr1", "chr2", "chr10", "chrX"], size=n)
    starts = rng.integers(0, 200_000, size=n)
    widths = rng.integers(1, 2_000, size=n)
    return [(str(c), int(s), int(s + w)) for c, s, w in zip(chroms, starts, widths, strict=True)]


def _write_format(path, rows, fmt):
    """Write ``rows`` in one peak format, with the header lines each format may carry."""
    header = "track name=peaks\nbrowser position chr1:1-1000\n# a comment\n"
    if fmt == "bb":
        chrom_sizes = {"chr1": 300_000, "chr10": 300_000, "chr2": 300_000, "chrX": 300_000}
        entries = sorted(rows, key=lambda r: (r[0], r[1], r[2]))
        pybigtools.open(str(path), "w").write(chrom_sizes, iter([(c, s, e, "p\t0\t.") for c, s, e in entries]))
        return path
    extra = {"bed": "", "narrowPeak": "\tp\t0\t.\t5.0\t3.0\t2.0\t50",
             "gappedPeak": "\tp\t0\t.\t{s}\t{e}\t0\t1\t{w},\t0,\t5.0\t3.0\t2.0"}[fmt.removesuffix(".gz")]
    body = "".join(f"{c}\t{s}\t{e}" + extra.format(s=s, e=e, w=e - s) + "\n" for c, s, e in rows)
    opener = gzip.open if fmt.endswith(".gz") or path.name.endswith(".gz") else open
    with opener(path, "wt") as fh:
        fh.write(header + body)
    return path


@pytest.mark.parametrize("fmt", ["bed", "bed.gz", "narrowPeak", "gappedPeak", "narrowPeak.gz", "bb"])
@pytest.mark.parametrize("distance", [0, 10_000])
def test_union_of_each_format_equals_bedtools_merge(tmp_path, fmt, distance):
    files = [_write_format(tmp_path / f"rep{i}.{fmt}", _random_rows(i), fmt) for i in range(2)]
    want = _bedtools_merge(_random_rows(0) + _random_rows(1), distance)
    got = [tuple(r) for r in union_peaks(files, merge_distance=distance).itertuples(index=False)]
    assert got == want
    assert len(want) < 600, "the random peaks should overlap, or the merge is not exercised"


def test_track_browser_and_comment_lines_are_skipped(tmp_path):
    bed = _write_format(tmp_path / "x.bed", [("chr1", 5, 10)], "bed")
    assert bed.read_text().startswith("track")
    assert read_peaks(bed).values.tolist() == [["chr1", 5, 10]]


@pytest.mark.parametrize(("line", "message"), [
    ("chr1\t500\t100\n", r"x.bed line 3: start 500 is not before end 100"),
    ("chr1\t100\t100\n", r"x.bed line 3: start 100 is not before end 100"),
    ("chr1\t-5\t100\n", r"x.bed line 3: negative start -5"),
])
def test_bad_interval_names_file_and_line(tmp_path, line, message):
    bed = tmp_path / "x.bed"
    bed.write_text("# header\nchr1\t1\t2\n" + line)
    with pytest.raises(InputError, match=message):
        union_peaks([bed])


def test_empty_gzipped_file_is_an_error(tmp_path):
    gz = tmp_path / "empty.narrowPeak.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write("track name=x\n")
    with pytest.raises(InputError, match="empty.narrowPeak.gz contains no peaks"):
        read_peaks(gz)


def test_bed12_and_broadpeak_txt_are_read_by_union_peaks_py(tmp_path):
    """MACS3 bdgbroadcall's default output (*.bed12) and a broadPeak saved as .txt go through the real script."""
    import sys
    from pathlib import Path

    bed12 = tmp_path / "sample_broad.bed12"
    bed12.write_text("track name=broad\nchr1\t100\t900\tp1\t0\t.\t100\t900\t0\t2\t100,200,\t0,600,\n"
                     "chr2\t50\t400\tp2\t0\t.\t50\t400\t0\t1\t350,\t0,\n")
    broad = tmp_path / "calls.txt"
    broad.write_text("chr1\t850\t1200\tb1\t0\t.\t3.5\t4.1\t2.0\n")
    out = tmp_path / "union.bed"
    script = Path(__file__).resolve().parents[1] / "bin" / "union_peaks.py"
    res = subprocess.run([sys.executable, str(script), "--inputs", str(bed12), str(broad), "--output", str(out)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert out.read_text() == "chr1\t100\t1200\nchr2\t50\t400\n"
    assert read_peaks(bed12).values.tolist() == [["chr1", 100, 900], ["chr2", 50, 400]]


@pytest.mark.parametrize(("fields", "flavour"), [
    (["chr1", "1", "5"], "BED3"),
    (["chr1", "1", "5", "p", "0", "+"], "BED6"),
    (["chr1", "1", "5", "p", "0", ".", "3.5", "4.1", "2.0", "12"], "narrowPeak"),
    (["chr1", "1", "5", "p", "0", ".", "3.5", "4.1", "2.0"], "broadPeak"),
    (["chr1", "1", "5", "p", "0", ".", "1", "5", "0", "1", "4,", "0,"], "BED12"),
    (["chr1", "1", "5", "p", "0", ".", "1", "5", "0", "1", "4,", "0,", "3.5", "4.1", "2.0"], "gappedPeak"),
])
def test_peak_flavour_from_the_columns(fields, flavour):
    from stagevep.io.peaks import peak_flavour

    assert peak_flavour(fields) == flavour


def test_bigbed_named_bed_is_read_by_its_content(tmp_path):
    written = tmp_path / "peaks.bb"
    pybigtools.open(str(written), "w").write({"chr1": 5000}, iter([("chr1", 10, 50, "p\t0\t.")]))
    bb = written.rename(tmp_path / "peaks.bed")  # a bigBed saved under a text name
    assert read_peaks(bb).values.tolist() == [["chr1", 10, 50]]
