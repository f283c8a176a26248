"""Catalogue of bad inputs: every malformed file or parameter a user can bring is refused in one line.

Each :class:`Case` writes one malformed input into its own folder, runs the ``bin/`` script that reads
it (or, for the samplesheet and the pipeline parameters, the pipeline's own Groovy validation in
``subworkflows/local/utils_stagevep``) and states the message expected: a regular expression that must
match the one ``ERROR:`` line, which must also name the bad file. Every case must exit with status 2,
print no traceback and leave nothing in its output folder. docs/troubleshooting.md lists the cases
(symptom, message, fix).

Scripts that import torch cost several seconds to start on two cores, so most of their cases run
in-process through the same ``run_cli(build_parser, main)`` the script's ``__main__`` calls; the
cases marked ``subprocess=True`` (and every case of a script without torch) run the script itself.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import write_bigwig
from stagevep.cli import run_cli
from stagevep.geometry import Geometry
from stagevep.model.checkpoint import save_checkpoint
from stagevep.model.enformer import build_model
from stagevep.model.sizes import model_config

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / "bin"
GEOM = Geometry(n_bins=16, bin_size=128, context_length=4096)
TRACKS = ["CS13", "CS20"]
CHROMS = {"chr1": 6000, "chr2": 4000}
#: scripts that import torch: run in-process unless a case asks for a subprocess
TORCH_SCRIPTS = {"prepare_variants.py", "score_variants.py", "score_background.py", "merge_scores.py",
                 "attribute_variants.py", "evaluate.py", "train.py", "discover_motifs.py"}
VCF_META = "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=6000>\n"
VCF_COLUMNS = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"


@dataclass
class Kit:
    """The good files every case may use, and the case's own folder (``tmp``) and output folder (``out``)."""

    tmp: Path
    out: Path
    fasta: Path
    bigwig: Path
    peaks: Path
    windows: Path
    checkpoint: Path
    variants: Path
    sheet_rows: list[dict[str, str]]

    def write(self, name: str, text: str | bytes) -> str:
        """Write ``text`` (gzip when ``name`` ends in .gz and ``text`` is str) to ``tmp/name``; the path."""
        path = self.tmp / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        elif name.endswith(".gz"):
            with gzip.open(path, "wt") as fh:
                fh.write(text)
        else:
            path.write_text(text)
        return str(path)

    def sheet(self, rows: list[dict[str, str]], columns=("stage", "replicate", "bigwig", "peaks")) -> str:
        path = self.tmp / "samplesheet.csv"
        with open(path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        return str(path)


@dataclass(frozen=True)
class Case:
    """One malformed input: ``script`` gets the arguments ``args(kit)`` and must fail with ``message``.

    ``script`` is a ``bin/`` script, ``"samplesheet"`` (the pipeline's readSamplesheet on the file
    ``args`` returns) or ``"params"`` (validateParameters on the parameters ``args`` returns as
    ``["JSON"]``). ``names`` is the file name the message must contain (``None`` for a parameter).
    """

    id: str
    kind: str
    script: str
    args: Callable[[Kit], list[str]]
    message: str
    names: str | None
    subprocess: bool = False
    fix: str = field(default="", compare=False)


# ---------------------------------------------------------------------------------------------------------
# argument builders: each writes the bad file into kit.tmp and returns the script's arguments
# ---------------------------------------------------------------------------------------------------------

def preflight(kit: Kit, fasta: str | None = None, bigwig: str | None = None, peaks: str | None = None,
              blacklist: str | None = None) -> list[str]:
    args = ["--fasta", fasta or str(kit.fasta), "--bigwigs", bigwig or str(kit.bigwig),
            "--peaks", peaks or str(kit.peaks)]
    return args + (["--blacklist", blacklist] if blacklist else [])


def union(kit: Kit, peaks: str) -> list[str]:
    return ["--inputs", str(kit.peaks), peaks, "--output", str(kit.out / "union.bed")]


def prepare(kit: Kit, variants: str | None = None, groups: str | None = None, checkpoint: str | None = None,
            *extra: str) -> list[str]:
    args = ["--checkpoint", checkpoint or str(kit.checkpoint), "--fasta", str(kit.fasta),
            "--variants", variants or str(kit.variants), "--out-dir", str(kit.out)]
    return args + (["--groups", groups] if groups else []) + list(extra)


def score(kit: Kit, variants: str | None = None, checkpoint: str | None = None, *extra: str) -> list[str]:
    return ["--checkpoint", checkpoint or str(kit.checkpoint), "--fasta", str(kit.fasta),
            "--variants", variants or str(kit.variants), "--out", str(kit.out / "scores.tsv"), "--device", "cpu",
            *extra]


def vcf(kit: Kit, name: str, body: str, header: str = VCF_COLUMNS) -> str:
    return kit.write(name, VCF_META + header + "\n" + body)


def tsv(kit: Kit, text: str, name: str = "variants.tsv") -> str:
    return kit.write(name, text)


def truncated_gzip(text: str) -> bytes:
    """The first half of ``text`` gzip-compressed (a download cut short)."""
    data = gzip.compress(text.encode())
    return data[: len(data) // 2]


def truncated(path: Path, keep: float = 0.5) -> bytes:
    data = path.read_bytes()
    return data[: int(len(data) * keep)]


def torch_file(kit: Kit, name: str, obj) -> str:
    torch.save(obj, kit.tmp / name)
    return str(kit.tmp / name)


def params(kit: Kit, **overrides) -> list[str]:
    base = {"input": kit.sheet(kit.sheet_rows), "fasta": str(kit.fasta), "outdir": str(kit.out)}
    return [json.dumps({**base, **overrides})]


def sheet_with(kit: Kit, row: int, **changes) -> list[str]:
    rows = [dict(r) for r in kit.sheet_rows]
    rows[row].update(changes)
    return [kit.sheet(rows)]


GOOD_TSV = "chrom\tpos\tref\talt\tid\tgroup\nchr1\t3000\tA\tG\tv1\tfunctional\nchr2\t2000\tC\tT\tv2\tflank\n"

CASES: list[Case] = [
    # --- FASTA and its .fai index (PREFLIGHT) ----------------------------------------------------------------
    Case("fasta_missing", "FASTA", "check_inputs.py", lambda k: preflight(k, fasta=str(k.tmp / "nope.fa")),
         r"FASTA file not found: .*nope\.fa", "nope.fa", fix="check the path given to --fasta"),
    Case("fasta_no_header_line", "FASTA", "check_inputs.py",
         lambda k: preflight(k, fasta=k.write("plain.fa", "ACGTACGT\nACGT\n")),
         r"cannot index FASTA .*plain\.fa: Unexpected text before the first sequence", "plain.fa",
         fix="every sequence needs a '>name' line before it"),
    Case("fasta_empty", "FASTA", "check_inputs.py", lambda k: preflight(k, fasta=k.write("empty.fa", "")),
         r"cannot index FASTA .*empty\.fa: .*does not contain a valid sequence", "empty.fa",
         fix="the file is empty: copy or download it again"),
    Case("fasta_duplicate_contig", "FASTA", "check_inputs.py",
         lambda k: preflight(k, fasta=k.write("dup.fa", ">chr1\nACGT\n>chr1\nACGT\n")),
         r"cannot index FASTA .*dup\.fa: Duplicate key \"chr1\"", "dup.fa", fix="rename or remove the repeated contig"),
    Case("fasta_ragged_lines", "FASTA", "check_inputs.py",
         lambda k: preflight(k, fasta=k.write("ragged.fa", ">chr1\nACGTACGTAC\nACG\nACGTACGTAC\n")),
         r"cannot index FASTA .*ragged\.fa: Line length of fasta file is not consistent", "ragged.fa",
         fix="rewrap it, e.g. `seqkit seq -w 60`"),
    Case("fasta_plain_gzip", "FASTA", "check_inputs.py",
         lambda k: preflight(k, fasta=k.write("genome.fa.gz", gzip.compress(k.fasta.read_bytes()))),
         r"the FASTA .*genome\.fa\.gz is gzip-compressed but not with bgzip.*bgzip", "genome.fa.gz",
         fix="recompress with bgzip or decompress"),
    Case("fai_malformed", "FASTA", "check_inputs.py",
         lambda k: preflight(k, fasta=_fasta_with_fai(k, "bad_fai.fa", "chr1\t6000\n")),
         r"FASTA index .*bad_fai\.fa\.fai line 1 is malformed .*samtools faidx", "bad_fai.fa.fai",
         fix="delete the .fai; stagevep rebuilds it"),
    Case("fai_stale", "FASTA", "check_inputs.py",
         lambda k: preflight(k, fasta=_fasta_with_fai(k, "stale.fa", "chr1\t60000\t6\t60\t61\n")),
         r"FASTA index .*stale\.fa\.fai does not fit .*stale\.fa: contig 'chr1' .* ends beyond the file",
         "stale.fa.fai", fix="delete the .fai; stagevep rebuilds it"),
    Case("fai_offset_shifted", "FASTA", "check_inputs.py",
         lambda k: preflight(k, fasta=_fasta_with_fai(k, "shifted.fa", "chr1\t10\t9\t60\t61\n")),
         r"FASTA index .*shifted\.fa\.fai does not fit .*contig 'chr1' .* does not start after its >chr1 line",
         "shifted.fa.fai", fix="delete the .fai; stagevep rebuilds it"),
    # --- bigWig ------------------------------------------------------------------------------------------------
    Case("bigwig_missing", "bigWig", "check_inputs.py", lambda k: preflight(k, bigwig=str(k.tmp / "nope.bw")),
         r"bigWig file not found: .*nope\.bw", "nope.bw", fix="check the samplesheet's bigwig column"),
    Case("bigwig_is_bedgraph", "bigWig", "check_inputs.py",
         lambda k: preflight(k, bigwig=k.write("signal.bw", "chr1\t0\t100\t1.5\n" * 10)),
         r"signal\.bw is not a bigWig file \(it starts with bytes .*, text: .*bedGraphToBigWig", "signal.bw",
         fix="convert bedGraph with bedGraphToBigWig"),
    Case("bigwig_is_gzip", "bigWig", "check_inputs.py",
         lambda k: preflight(k, bigwig=k.write("gz.bw", gzip.compress(k.bigwig.read_bytes()))),
         r"gz\.bw is not a bigWig file .*, a gzip file", "gz.bw", fix="gunzip it"),
    Case("bigwig_truncated", "bigWig", "check_inputs.py",
         lambda k: preflight(k, bigwig=k.write("cut.bw", truncated(k.bigwig, 0.6))),
         r"cut\.bw is truncated: it is [\d,]+ bytes but its header points to byte", "cut.bw",
         fix="copy or download it again"),
    Case("bigwig_empty", "bigWig", "check_inputs.py", lambda k: preflight(k, bigwig=k.write("zero.bw", b"")),
         r"zero\.bw is 0 bytes, too short to be a bigWig", "zero.bw", fix="copy or download it again"),
    Case("bigwig_is_bigbed", "bigWig", "check_inputs.py",
         lambda k: preflight(k, bigwig=_bigbed(k, "peaks_as_signal.bw")),
         r"peaks_as_signal\.bw is a bigBed file, not a bigWig: are the samplesheet's bigwig and peaks columns "
         r"swapped\?", "peaks_as_signal.bw",
         fix="the samplesheet's bigwig and peaks columns are swapped"),
    Case("bigwig_chr_prefix", "bigWig", "check_inputs.py",
         lambda k: preflight(k, bigwig=str(write_bigwig(k.tmp / "ensembl.bw", {"1": 6000, "2": 4000},
                                                       {"1": [(0, 10, 1.0)]}))),
         r"contig names of .*ensembl\.bw and the FASTA .* differ by the 'chr' prefix", "ensembl.bw",
         fix="rename the contigs (the message gives the commands)"),
    Case("bigwig_no_shared_contig", "bigWig", "check_inputs.py",
         lambda k: preflight(k, bigwig=str(write_bigwig(k.tmp / "other.bw", {"scaffold_1": 6000},
                                                       {"scaffold_1": [(0, 10, 1.0)]}))),
         r"other\.bw shares no contig name with the FASTA", "other.bw", fix="use the FASTA of the same genome"),
    Case("bigwig_other_build", "bigWig", "check_inputs.py",
         lambda k: preflight(k, bigwig=str(write_bigwig(k.tmp / "hg19.bw", {"chr1": 7000, "chr2": 4000},
                                                       {"chr1": [(0, 10, 1.0)]}))),
         r"contig chr1 is 7000 bp in .*hg19\.bw but 6000 bp in the FASTA .*different genome builds", "hg19.bw",
         fix="use bigWigs and FASTA of one genome build"),
    # --- peak files --------------------------------------------------------------------------------------------
    Case("peaks_missing", "peaks", "union_peaks.py", lambda k: union(k, str(k.tmp / "nope.bed")),
         r"peak file not found: .*nope\.bed", "nope.bed", fix="check the samplesheet's peaks column"),
    Case("peaks_unknown_extension", "peaks", "union_peaks.py",
         lambda k: union(k, k.write("macs_peaks.xls", "chr1\t10\t20\n")),
         r"macs_peaks\.xls: unknown peak file extension; supported: BED3-BED12", "macs_peaks.xls",
         fix="give the narrowPeak/BED file, not MACS's .xls"),
    Case("peaks_two_columns", "peaks", "union_peaks.py", lambda k: union(k, k.write("two.bed", "chr1\t10\n")),
         r"two\.bed line 1: expected at least 3 tab-separated columns \(chrom, start, end\)$", "two.bed",
         fix="BED needs chrom, start, end"),
    Case("peaks_comma_separated", "peaks", "union_peaks.py",
         lambda k: union(k, k.write("commas.bed", "chr1,10,20\n")),
         r"commas\.bed line 1: .* the line is comma-separated: peak files are tab-separated", "commas.bed",
         fix="convert with tr ',' '\\t'"),
    Case("peaks_space_separated", "peaks", "union_peaks.py",
         lambda k: union(k, k.write("spaces.narrowPeak", "chr1 10 20 p 0 . 1 2 3 5\n")),
         r"spaces\.narrowPeak line 1: .*separated by spaces: peak files are tab-separated", "spaces.narrowPeak",
         fix="convert spaces to tabs"),
    Case("peaks_header_line", "peaks", "union_peaks.py",
         lambda k: union(k, k.write("header.txt", "chrom\tstart\tend\nchr1\t10\t20\n")),
         r"header\.txt line 1: start/end are not integers: .* A header line\? BED files have none", "header.txt",
         fix="delete the header line or start it with '#'"),
    Case("peaks_not_integer", "peaks", "union_peaks.py",
         lambda k: union(k, k.write("float.bed", "chr1\t10\t20\nchr1\t30.5\t40\n")),
         r"float\.bed line 2: start/end are not integers: 'chr1\\t30\.5\\t40'$", "float.bed",
         fix="BED coordinates are integers"),
    Case("peaks_negative_start", "peaks", "union_peaks.py",
         lambda k: union(k, k.write("neg.bed", "chr1\t-5\t20\n")),
         r"neg\.bed line 1: negative start -5; BED starts are 0-based", "neg.bed", fix="clip starts at 0"),
    Case("peaks_start_after_end", "peaks", "union_peaks.py",
         lambda k: union(k, k.write("swapped.broadPeak", "chr1\t500\t100\tp\t0\t.\t1\t2\t3\n")),
         r"swapped\.broadPeak line 1: start 500 is not before end 100.*columns swapped", "swapped.broadPeak",
         fix="swap the columns"),
    Case("peaks_only_comments", "peaks", "union_peaks.py",
         lambda k: union(k, k.write("comments.bed", "track name=x\n# nothing\n")),
         r"peak file .*comments\.bed contains no peaks", "comments.bed", fix="check the file is complete"),
    Case("peaks_gzip_truncated", "peaks", "union_peaks.py",
         lambda k: union(k, k.write("cut.bed.gz", truncated_gzip(
             "".join(f"chr1\t{i}\t{i + 50}\n" for i in range(0, 5000, 7))))),
         r"cannot read peak file .*cut\.bed\.gz \(truncated, or not a text/gzip file\?\)", "cut.bed.gz",
         fix="copy or download it again"),
    Case("peaks_binary", "peaks", "union_peaks.py",
         lambda k: union(k, k.write("binary.bed", bytes(range(128, 256)) * 4)),
         r"cannot read peak file .*binary\.bed .*can't decode", "binary.bed", fix="give a text BED"),
    Case("bigbed_truncated", "peaks", "union_peaks.py",
         lambda k: union(k, k.write("cut.bb", truncated(Path(_bigbed(k, "whole.bb")), 0.5))),
         r"cut\.bb is truncated", "cut.bb", fix="copy or download it again"),
    Case("bigbed_is_text", "peaks", "union_peaks.py",
         lambda k: union(k, k.write("text.bigBed", "chr1\t10\t20\n" * 10)),
         r"text\.bigBed is not a bigBed file .*text: ", "text.bigBed", fix="name a BED file .bed"),
    Case("peaks_beyond_contig", "peaks", "check_inputs.py",
         lambda k: preflight(k, peaks=k.write("long.bed", "chr1\t5000\t9000\n")),
         r"long\.bed has intervals on chr1 up to 9000 bp, but chr1 is 6000 bp in the FASTA", "long.bed",
         fix="use peaks of the FASTA's genome build"),
    Case("peaks_chr_prefix", "peaks", "check_inputs.py",
         lambda k: preflight(k, peaks=k.write("ensembl.bed12", "1\t100\t500\tp\t0\t+\t100\t500\t0\t1\t400,\t0,\n")),
         r"contig names of .*ensembl\.bed12 and the FASTA .* differ by the 'chr' prefix", "ensembl.bed12",
         fix="rename the contigs"),
    Case("blacklist_unknown_contig", "peaks", "check_inputs.py",
         lambda k: preflight(k, blacklist=k.write("blacklist.bed", "chr1\t0\t100\nchrUn_x\t0\t50\n")),
         r"blacklist\.bed names 1 contig\(s\) absent from the FASTA .*chrUn_x", "blacklist.bed",
         fix="remove those lines"),
    # --- windows and targets -----------------------------------------------------------------------------------
    Case("windows_bad_split", "windows", "make_targets.py",
         lambda k: ["--windows", k.write("w.bed", "chr1\t0\t2048\tw0\ttraining\n"),
                    "--bigwig", f"CS13={k.bigwig}", "--output", str(k.out / "t.h5"),
                    "--context-length", "4096"],
         r"w\.bed line 1: split must be train, val or test, got 'training'", "w.bed",
         fix="windows.bed comes from make_windows.py"),
    Case("windows_ragged", "windows", "make_targets.py",
         lambda k: ["--windows", k.write("ragged_w.bed", "chr1\t0\t2048\tw0\ttrain\nchr1\t0\t2048\tw1\ttrain\tx\ty\n"),
                    "--bigwig", f"CS13={k.bigwig}", "--output", str(k.out / "t.h5"), "--context-length", "4096"],
         r"cannot parse windows file .*ragged_w\.bed", "ragged_w.bed", fix="windows.bed comes from make_windows.py"),
    # --- variant tables (TSV) ----------------------------------------------------------------------------------
    Case("tsv_missing_column", "variants", "prepare_variants.py",
         lambda k: prepare(k, tsv(k, "chrom\tposition\tref\talt\nchr1\t10\tA\tG\n")),
         r"variant table .*variants\.tsv lacks column\(s\) \['pos'\]", "variants.tsv",
         fix="header chrom pos ref alt [id] [group]"),
    Case("tsv_pos_not_integer", "variants", "prepare_variants.py",
         lambda k: prepare(k, tsv(k, "chrom\tpos\tref\talt\nchr1\t10\tA\tG\nchr1\t1e3\tA\tG\n")),
         r"variants\.tsv row 3: pos must be a positive 1-based integer, got '1e3'", "variants.tsv",
         fix="write positions as integers"),
    Case("tsv_pos_zero", "variants", "prepare_variants.py",
         lambda k: prepare(k, tsv(k, "chrom\tpos\tref\talt\nchr1\t0\tA\tG\n")),
         r"variants\.tsv row 2: pos is 1-based and must be >= 1", "variants.tsv", fix="add 1 to 0-based positions"),
    Case("tsv_header_only", "variants", "prepare_variants.py",
         lambda k: prepare(k, tsv(k, "chrom\tpos\tref\talt\n")),
         r"variant file .*variants\.tsv contains no variants", "variants.tsv", fix="check the file is complete"),
    Case("tsv_empty_file", "variants", "prepare_variants.py", lambda k: prepare(k, tsv(k, "")),
         r"cannot parse variant table .*variants\.tsv as tab-separated text: No columns", "variants.tsv",
         fix="the file is empty"),
    Case("tsv_ragged_row", "variants", "prepare_variants.py",
         lambda k: prepare(k, tsv(k, "chrom\tpos\tref\talt\nchr1\t10\tA\tG\nchr1\t20\tA\tG\tx\ty\n")),
         r"cannot parse variant table .*variants\.tsv .*Expected 4 fields in line 3, saw 6", "variants.tsv",
         fix="every row needs the header's columns"),
    Case("tsv_not_utf8", "variants", "prepare_variants.py",
         lambda k: prepare(k, k.write("latin1.tsv", "chrom\tpos\tref\talt\tid\nchr1\t10\tA\tG\tg\xe8ne\n"
                                      .encode("latin-1"))),
         r"cannot parse variant table .*latin1\.tsv as tab-separated text: .*codec can't decode", "latin1.tsv",
         fix="save the table as UTF-8"),
    Case("tsv_plot_id_absent", "variants", "prepare_variants.py",
         lambda k: prepare(k, None, None, None, "--track-ids", "rs_absent"),
         r"rs_absent.*not found in .*variants\.tsv|variants\.tsv.*rs_absent", "variants.tsv",
         fix="--plot_variants must name IDs of the table"),
    # --- VCF ---------------------------------------------------------------------------------------------------
    Case("vcf_empty_sample_name", "variants", "score_variants.py",
         lambda k: score(k, vcf(k, "trailing_tab.vcf", "chr1\t3000\t.\tA\tG\t.\t.\t.\tGT\t0/1\t0/1\n",
                                VCF_COLUMNS + "\tFORMAT\tS1\t")),
         r"VCF .*trailing_tab\.vcf line 3: column 11 of the '#CHROM' line is an empty sample name", "trailing_tab.vcf",
         subprocess=True, fix="remove the trailing tab"),
    Case("vcf_space_delimited", "variants", "score_variants.py",
         lambda k: score(k, vcf(k, "spaces.vcf", "chr1 3000 . A G . . .\n", VCF_COLUMNS.replace("\t", " "))),
         r"VCF .*spaces\.vcf line 3: the '#CHROM' header line is separated by spaces, not tabs", "spaces.vcf",
         subprocess=True, fix="replace spaces with tabs"),
    Case("vcf_two_chrom_lines", "variants", "score_variants.py",
         lambda k: score(k, vcf(k, "two_headers.vcf", VCF_COLUMNS + "\nchr1\t3000\t.\tA\tG\t.\t.\t.\n")),
         r"VCF .*two_headers\.vcf line 4: a second '#CHROM' line after the '#CHROM' header line on line 3.*"
         r"bcftools concat", "two_headers.vcf", subprocess=True, fix="join VCFs with bcftools concat"),
    Case("vcf_chrom_line_among_records", "variants", "score_variants.py",
         lambda k: score(k, vcf(k, "cat.vcf", "chr1\t3000\t.\tA\tG\t.\t.\t.\n" + VCF_COLUMNS
                                + "\nchr1\t3100\t.\tA\tG\t.\t.\t.\n")),
         r"VCF .*cat\.vcf line 5 \(record 2, after chr1:3000\): a second '#CHROM' header line", "cat.vcf",
         subprocess=True, fix="join VCFs with bcftools concat"),
    Case("vcf_no_header", "variants", "prepare_variants.py",
         lambda k: prepare(k, k.write("bare.vcf", "chr1\t3000\t.\tA\tG\t.\t.\t.\n")),
         r"VCF .*bare\.vcf has no header: .*'##fileformat=VCFv4\.2'", "bare.vcf", fix="add the header lines"),
    Case("vcf_wrong_fixed_columns", "variants", "prepare_variants.py",
         lambda k: prepare(k, vcf(k, "cols.vcf", "chr1\t3000\tA\tG\n", "#CHROM\tPOS\tREF\tALT")),
         r"VCF .*cols\.vcf line 3: the '#CHROM' header line has columns \['#CHROM', 'POS', 'REF', 'ALT'\]",
         "cols.vcf", fix="the 8 fixed VCF columns"),
    Case("vcf_samples_without_format", "variants", "prepare_variants.py",
         lambda k: prepare(k, vcf(k, "noformat.vcf", "chr1\t3000\t.\tA\tG\t.\t.\t.\t0/1\n", VCF_COLUMNS + "\tS1")),
         r"VCF .*noformat\.vcf line 3: column 9 of the '#CHROM' line is 'S1'; sample columns must follow a 'FORMAT'",
         "noformat.vcf", fix="add FORMAT"),
    Case("vcf_duplicate_samples", "variants", "prepare_variants.py",
         lambda k: prepare(k, vcf(k, "dupsamples.vcf", "chr1\t3000\t.\tA\tG\t.\t.\t.\tGT\t0/1\t1/1\n",
                                  VCF_COLUMNS + "\tFORMAT\tS1\tS1")),
         r"VCF .*dupsamples\.vcf line 3: sample name\(s\) \['S1'\] appear more than once", "dupsamples.vcf",
         fix="bcftools reheader --samples"),
    Case("vcf_bad_pos", "variants", "prepare_variants.py",
         lambda k: prepare(k, vcf(k, "pos.vcf", "chr1\t3000\t.\tA\tG\t.\t.\t.\nchr1\tten\t.\tA\tG\t.\t.\t.\n")),
         r"VCF .*pos\.vcf line 5 \(record 2, after chr1:3000\) cannot be parsed .*'chr1\\tten", "pos.vcf",
         fix="fix the record"),
    Case("vcf_short_record", "variants", "prepare_variants.py",
         lambda k: prepare(k, vcf(k, "short.vcf", "chr1\t3000\t.\tA\n")),
         r"VCF .*short\.vcf line 4 \(record 1, after the header\): 4 tab-separated column\(s\), a VCF record needs "
         r"at least 8", "short.vcf", fix="the file is truncated"),
    Case("vcf_space_delimited_record", "variants", "prepare_variants.py",
         lambda k: prepare(k, vcf(k, "recspaces.vcf", "chr1 3000 . A G . . .\n")),
         r"VCF .*recspaces\.vcf line 4 \(record 1, after the header\): the record is separated by spaces",
         "recspaces.vcf", fix="replace spaces with tabs"),
    Case("vcf_gz_truncated", "variants", "prepare_variants.py",
         lambda k: prepare(k, k.write("cut.vcf.gz", truncated_gzip(
             VCF_META + VCF_COLUMNS + "\n" + "".join(f"chr1\t{i}\t.\tA\tG\t.\t.\t.\n" for i in range(1, 5000, 3))))),
         r"cannot read VCF .*cut\.vcf\.gz \(truncated or not a text/bgzip VCF\?\)", "cut.vcf.gz",
         fix="copy or download it again"),
    Case("bcf_not_bcf", "variants", "prepare_variants.py",
         lambda k: prepare(k, k.write("calls.bcf", "this is not a BCF\n")),
         r"cannot read VCF .*calls\.bcf: .*not valid bcf or vcf", "calls.bcf", fix="give a VCF or BCF"),
    # --- group tables ------------------------------------------------------------------------------------------
    Case("groups_missing", "groups", "prepare_variants.py",
         lambda k: prepare(k, None, str(k.tmp / "nope_groups.tsv")),
         r"groups file not found: .*nope_groups\.tsv", "nope_groups.tsv", fix="check --groups"),
    Case("groups_wrong_header", "groups", "prepare_variants.py",
         lambda k: prepare(k, None, k.write("groups.tsv", "variant\tlabel\nv1\tfunctional\n")),
         r"groups file .*groups\.tsv must have the header 'id<TAB>group', got \['variant', 'label'\]", "groups.tsv",
         fix="header id group"),
    Case("groups_duplicate_id", "groups", "prepare_variants.py",
         lambda k: prepare(k, None, k.write("groups.tsv", "id\tgroup\nv1\tfunctional\nv1\tflank\n")),
         r"groups file .*groups\.tsv lists id 'v1' twice", "groups.tsv", fix="one row per id"),
    Case("groups_unknown_id", "groups", "prepare_variants.py",
         lambda k: prepare(k, None, k.write("groups.tsv", "id\tgroup\nrs999\tfunctional\n")),
         r"groups file .*groups\.tsv names 1 id\(s\) not in the variants, e\.g\. \['rs999'\]", "groups.tsv",
         fix="ids of split records carry :ALT"),
    Case("groups_empty_file", "groups", "prepare_variants.py",
         lambda k: prepare(k, None, k.write("groups.tsv", "")),
         r"cannot parse groups file .*groups\.tsv as tab-separated 'id<TAB>group' text", "groups.tsv",
         fix="the file is empty"),
    # --- checkpoints -------------------------------------------------------------------------------------------
    Case("checkpoint_missing", "checkpoint", "prepare_variants.py",
         lambda k: prepare(k, None, None, str(k.tmp / "nope.pt")),
         r"checkpoint not found: .*nope\.pt", "nope.pt", fix="use train/best.pt"),
    Case("checkpoint_truncated", "checkpoint", "score_variants.py",
         lambda k: score(k, None, k.write("cut.pt", truncated(k.checkpoint, 0.5))),
         r"cannot read checkpoint .*cut\.pt \(truncated or not a torch file\?\)", "cut.pt", fix="copy it again"),
    Case("checkpoint_is_text", "checkpoint", "score_variants.py",
         lambda k: score(k, None, k.write("notes.pt", "best model: epoch 3\n")),
         r"cannot read checkpoint .*notes\.pt \(truncated or not a torch file\?\)", "notes.pt",
         fix="use train/best.pt"),
    Case("checkpoint_is_state_dict_tensor", "checkpoint", "score_variants.py",
         lambda k: score(k, None, torch_file(k, "tensor.pt", torch.zeros(3))),
         r"tensor\.pt is not a stagevep checkpoint: it holds a Tensor", "tensor.pt", fix="use train/best.pt"),
    Case("checkpoint_lacks_keys", "checkpoint", "score_variants.py",
         lambda k: score(k, None, torch_file(k, "weights.pt", {"state_dict": {}, "epoch": 3})),
         r"weights\.pt is not a stagevep checkpoint: it lacks \['model_config', 'tracks', 'geometry', "
         r"'target_transform'\]", "weights.pt", fix="use train/best.pt"),
    Case("checkpoint_bad_geometry", "checkpoint", "score_variants.py",
         lambda k: score(k, None, _edited_checkpoint(k, "geom.pt", geometry={**GEOM.to_dict(), "n_bins": 0})),
         r"geom\.pt: .*n_bins must be positive, got 0", "geom.pt", fix="retrain"),
    Case("checkpoint_without_windows", "checkpoint", "score_background.py",
         lambda k: ["--checkpoint", _edited_checkpoint(k, "old.pt", drop="windows"), "--fasta", str(k.fasta),
                    "--out", str(k.out / "background.parquet"), "--n", "10", "--device", "cpu"],
         r"old\.pt records no training windows .*--background_variants 0", "old.pt",
         fix="retrain, or --background_variants 0"),
    # --- parameters of the scripts -----------------------------------------------------------------------------
    Case("central_bins_zero", "parameters", "score_variants.py", lambda k: score(k, None, None, "--central-bins", "0"),
         r"--central-bins must be between 1 and the model's n_bins \(16\), got 0", None, fix="leave it unset"),
    Case("central_bins_beyond_model", "parameters", "score_variants.py",
         lambda k: score(k, None, None, "--central-bins", "96"),
         r"--central-bins must be between 1 and the model's n_bins \(16\), got 96", None, fix="leave it unset"),
    Case("bigwig_assignment_malformed", "parameters", "make_targets.py",
         lambda k: ["--windows", str(k.windows), "--bigwig", str(k.bigwig), "--output", str(k.out / "t.h5")],
         r"--bigwig expects STAGE=FILE, got '.*signal_good\.bw'", None, fix="write STAGE=FILE"),
    Case("clip_percentile_out_of_range", "parameters", "make_targets.py",
         lambda k: ["--windows", str(k.windows), "--bigwig", f"CS13={k.bigwig}", "--output", str(k.out / "t.h5"),
                    "--context-length", "4096", "--clip-percentile", "0"],
         r"--clip-percentile must be in \(0, 100\], got 0\.0", None, fix="a percentile in (0, 100]"),
    Case("window_geometry_uneven", "parameters", "make_windows.py",
         lambda k: ["--peaks", str(k.peaks), "--fasta", str(k.fasta), "--output", str(k.out / "windows.bed"),
                    "--n-bins", "16", "--context-length", "4000"],
         r"context_length 4000 is not a multiple of bin_size 128", None, fix="a multiple of --bin_size"),
    Case("window_longer_than_context", "parameters", "make_windows.py",
         lambda k: ["--peaks", str(k.peaks), "--fasta", str(k.fasta), "--output", str(k.out / "windows.bed"),
                    "--n-bins", "64", "--context-length", "4096"],
         r"target window 64 x 128 = 8192 bp is longer than the context 4096 bp", None, fix="fewer bins"),
    # --- samplesheet (the pipeline's readSamplesheet, before any task) -----------------------------------------
    Case("sheet_not_found", "samplesheet", "samplesheet", lambda k: [str(k.tmp / "nope.csv")],
         r"Samplesheet not found: .*nope\.csv", "nope.csv", fix="check --input"),
    Case("sheet_empty", "samplesheet", "samplesheet", lambda k: [k.write("samplesheet.csv", "\n")],
         r"Samplesheet .*samplesheet\.csv is empty: it needs the header 'stage,replicate,bigwig,peaks'",
         "samplesheet.csv", fix="add the header and rows"),
    Case("sheet_header_only", "samplesheet", "samplesheet", lambda k: [k.sheet([])],
         r"Samplesheet .*samplesheet\.csv has a header but no rows", "samplesheet.csv", fix="one row per replicate"),
    Case("sheet_missing_column", "samplesheet", "samplesheet",
         lambda k: [k.sheet(k.sheet_rows, ("stage", "replicate", "bigwig"))],
         r"Samplesheet .*samplesheet\.csv: missing column\(s\) peaks in the header \(row 1\)", "samplesheet.csv",
         fix="header stage,replicate,bigwig,peaks"),
    Case("sheet_bad_stage_name", "samplesheet", "samplesheet", lambda k: sheet_with(k, 0, stage="CS 13/a"),
         r"samplesheet\.csv: 1 problem\(s\)\n  \* row 2, column 'stage': 'CS 13/a' must be non-empty and use only",
         "samplesheet.csv", fix="letters, digits, _ . -"),
    Case("sheet_duplicate_replicate", "samplesheet", "samplesheet", lambda k: sheet_with(k, 1, replicate="rep1"),
         r"row 3, columns 'stage','replicate': duplicate \(stage, replicate\) = \(CS13, rep1\), first seen on row 2",
         "samplesheet.csv", fix="unique (stage, replicate)"),
    Case("sheet_wrong_field_count", "samplesheet", "samplesheet",
         lambda k: [k.write("samplesheet.csv", "stage,replicate,bigwig,peaks\nCS13,rep1,a.bw\n")],
         r"row 2: 3 fields but the header has 4", "samplesheet.csv", fix="quote or remove commas"),
    Case("sheet_peaks_unknown_extension", "samplesheet", "samplesheet",
         lambda k: sheet_with(k, 0, peaks=str(k.tmp / "calls_peaks.xls")),
         r"row 2, column 'peaks': '.*calls_peaks\.xls' has an unknown extension; expected one of .*\.bed12",
         "samplesheet.csv", fix="a BED-family peak file"),
    Case("sheet_bigwig_not_found", "samplesheet", "samplesheet",
         lambda k: sheet_with(k, 1, bigwig=str(k.tmp / "gone.bw")),
         r"row 3, column 'bigwig': file not found: .*gone\.bw", "samplesheet.csv", fix="fix the path"),
    Case("sheet_empty_cell", "samplesheet", "samplesheet", lambda k: sheet_with(k, 0, peaks=""),
         r"row 2, column 'peaks': empty", "samplesheet.csv", fix="fill the cell"),
    # --- pipeline parameters (the pipeline's validateParameters, before any task) -----------------------------
    Case("param_unknown", "parameters", "params", lambda k: params(k, central_bin=8),
         r"unknown parameter --central_bin \(see --help for the list\)", None, fix="spelling: see --help"),
    Case("param_not_integer", "parameters", "params", lambda k: params(k, central_bins="eight"),
         r"--central_bins must be an integer, got 'eight'", None, fix="an integer"),
    Case("param_below_minimum", "parameters", "params", lambda k: params(k, central_bins=0),
         r"--central_bins must be >= 1, got 0", None, fix="leave it unset"),
    Case("param_outside_enum", "parameters", "params", lambda k: params(k, indel_alignment="left"),
         r"--indel_alignment must be one of shift, shift_mask, none, got 'left'", None, fix="one of the values"),
    Case("param_hyphenated", "parameters", "params", lambda k: params(k, **{"max-steps": 10}),
         r"--max-steps is not read by the pipeline: write --max_steps", None, fix="underscores"),
    Case("param_not_boolean", "parameters", "params", lambda k: params(k, rc_ensemble="yes"),
         r"--rc_ensemble must be true or false, got 'yes'", None, fix="true or false"),
    Case("param_fasta_not_found", "parameters", "params", lambda k: params(k, fasta=str(k.tmp / "nope.fa")),
         r"--fasta: file not found: .*nope\.fa", "nope.fa", fix="fix the path"),
    Case("param_checkpoint_without_variants", "parameters", "params",
         lambda k: params(k, checkpoint=str(k.checkpoint)),
         r"--checkpoint needs --variants", None, fix="add --variants"),
]


def _fasta_with_fai(kit: Kit, name: str, fai: str) -> str:
    path = kit.tmp / name
    shutil.copy(kit.fasta, path)
    Path(f"{path}.fai").write_text(fai)
    return str(path)


def _bigbed(kit: Kit, name: str) -> str:
    import pybigtools

    written = kit.tmp / f"{name}.bb"  # pybigtools picks the format from the name
    pybigtools.open(str(written), "w").write(CHROMS, iter([("chr1", 100 * i, 100 * i + 50, "p\t0\t.")
                                                           for i in range(1, 40)]))
    return str(written.rename(kit.tmp / name))


def _edited_checkpoint(kit: Kit, name: str, drop: str | None = None, **changes) -> str:
    ckpt = torch.load(kit.checkpoint, map_location="cpu", weights_only=False)
    ckpt.update(changes)
    if drop:
        del ckpt[drop]
    torch.save(ckpt, kit.tmp / name)
    return str(kit.tmp / name)


# ---------------------------------------------------------------------------------------------------------
# the good files, and running every case once
# ---------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict[str, Path]:
    """Good inputs the cases start from: a 2-contig FASTA, a bigWig, peaks, windows, a 16-bin checkpoint."""
    root = tmp_path_factory.mktemp("good")
    rng = np.random.default_rng(0)
    fasta = root / "genome.fa"
    with open(fasta, "w") as fh:
        for name, length in CHROMS.items():
            seq = "".join(rng.choice(list("ACGT"), size=length))
            fh.write(f">{name}\n" + "".join(seq[i:i + 60] + "\n" for i in range(0, length, 60)))
    bigwig = write_bigwig(root / "signal_good.bw", CHROMS,
                          {c: [(s, s + 100, 1.0 + s % 7) for s in range(0, n - 100, 200)] for c, n in CHROMS.items()})
    peaks = root / "peaks_good.narrowPeak"
    peaks.write_text("chr1\t2900\t3100\tp1\t0\t.\t5\t3\t2\t100\nchr2\t1900\t2100\tp2\t0\t.\t5\t3\t2\t100\n")
    windows = root / "windows.bed"
    windows.write_text("chr1\t1976\t4024\tw0\ttrain\nchr2\t976\t3024\tw1\ttest\n")
    variants = root / "variants.tsv"
    variants.write_text(GOOD_TSV)
    torch.manual_seed(0)
    model = build_model(model_config("tiny", GEOM), n_tracks=len(TRACKS)).eval()
    checkpoint = root / "best.pt"
    save_checkpoint(checkpoint, model, {
        "model_config": model_config("tiny", GEOM), "tracks": TRACKS, "geometry": GEOM.to_dict(),
        "target_transform": {"transform": "log1p"}, "genome": {"fasta": "genome.fa", "contigs": CHROMS},
        "windows": {"chrom": ["chr1", "chr2"], "centre": [3000, 2000], "split": ["train", "test"]}})
    return {"fasta": fasta, "bigwig": bigwig, "peaks": peaks, "windows": windows, "variants": variants,
            "checkpoint": checkpoint}


@dataclass
class Outcome:
    refused: bool  # exit status 2 (scripts) or an error from the pipeline's validation (Groovy)
    errors: list[str]  # the ERROR messages
    stderr: str
    left_behind: list[str]  # files found in the case's output folder afterwards


def _script_module(script: str):
    spec = importlib.util.spec_from_file_location(f"bin_{script[:-3]}", BIN / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _left_behind(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) if out.exists() else []


def _run_script(case: Case, kit: Kit, argv: list[str]) -> Outcome:
    if case.script in TORCH_SCRIPTS and not case.subprocess:
        module = _script_module(case.script)
        buffer = io.StringIO()
        with contextlib.redirect_stderr(buffer):
            rc = run_cli(module.build_parser, module.main, argv)
        stderr = buffer.getvalue()
    else:
        proc = subprocess.run([sys.executable, str(BIN / case.script), *argv], capture_output=True, text=True,
                              cwd=kit.tmp, timeout=300)
        rc, stderr = proc.returncode, proc.stderr
    errors = [line[len("ERROR: "):] for line in stderr.splitlines() if line.startswith("ERROR: ")]
    return Outcome(rc == 2, errors, stderr, _left_behind(kit.out))


HARNESS = """
// Every case through the pipeline's own validation (as main.nf calls it), in one JVM
include { validateParameters; readSamplesheet } from '{utils}'
import groovy.json.JsonSlurper
workflow {
    new File(params.cases).eachLine { line ->
        def (name, kind, arg) = line.split('\\t', 3)
        def message = ''
        try {
            if (kind == 'samplesheet') readSamplesheet(arg, '{sheet_schema}')
            else validateParameters(new JsonSlurper().parseText(arg), '{schema}')
        } catch (Throwable err) {
            def cause = err
            while (cause.cause != null && cause.message == null) cause = cause.cause
            message = cause.message ?: cause.toString()
        }
        println "CASE\\t${name}\\t${groovy.json.JsonOutput.toJson(message)}"
    }
}
"""


def _run_groovy(cases: list[tuple[Case, Kit, list[str]]], root: Path) -> dict[str, Outcome]:
    exe = shutil.which("nextflow")
    if exe is None:
        return {}
    script = root / "validate_cases.nf"
    script.write_text(HARNESS.replace("{utils}", str(REPO / "subworkflows/local/utils_stagevep/main.nf"))
                      .replace("{sheet_schema}", str(REPO / "assets/schema_input.json"))
                      .replace("{schema}", str(REPO / "nextflow_schema.json")))
    table = root / "cases.tsv"
    table.write_text("".join(f"{case.id}\t{case.script}\t{argv[0]}\n" for case, _, argv in cases))
    env = {**os.environ, "NXF_OFFLINE": "true", "NXF_OPTS": "-XX:+TieredCompilation -XX:TieredStopAtLevel=1"}
    proc = subprocess.run([exe, "-q", "run", str(script), "--cases", str(table)], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)
    messages = {}
    for line in proc.stdout.splitlines():
        if line.startswith("CASE\t"):
            _, name, message = line.split("\t", 2)
            messages[name] = json.loads(message)
    assert messages, f"the validation harness printed no case\n{proc.stdout}\n{proc.stderr}"
    kits = {case.id: kit for case, kit, _ in cases}
    return {name: Outcome(bool(msg), [msg] if msg else [], proc.stderr, _left_behind(kits[name].out))
            for name, msg in messages.items()}


@pytest.fixture(scope="module")
def outcomes(base, tmp_path_factory) -> dict[str, Outcome]:
    """Run every case once (each in its own folder); case id -> :class:`Outcome`."""
    root = tmp_path_factory.mktemp("cases")
    sheet_rows = [{"stage": "CS13", "replicate": "rep1", "bigwig": str(base["bigwig"]), "peaks": str(base["peaks"])},
                  {"stage": "CS13", "replicate": "rep2", "bigwig": str(base["bigwig"]), "peaks": str(base["peaks"])}]
    results: dict[str, Outcome] = {}
    groovy = []
    for case in CASES:
        tmp = root / case.id
        tmp.mkdir()
        kit = Kit(tmp=tmp, out=tmp / "out", sheet_rows=sheet_rows, **base)
        argv = case.args(kit)
        if case.script in ("samplesheet", "params"):
            groovy.append((case, kit, argv))
        else:
            results[case.id] = _run_script(case, kit, argv)
    results.update(_run_groovy(groovy, root))
    return results


def test_catalogue_holds_50_distinct_cases_of_every_kind():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "case ids repeat"
    python_cases = [c for c in CASES if c.script not in ("samplesheet", "params")]
    assert len(python_cases) >= 50, "at least 50 cases run without Nextflow"
    kinds = {c.kind for c in CASES}
    assert kinds >= {"samplesheet", "FASTA", "bigWig", "peaks", "variants", "groups", "checkpoint", "parameters"}
    assert len({c.message for c in CASES}) == len(CASES), "every case expects its own message"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_in_one_line(outcomes, case):
    if case.id not in outcomes:
        pytest.skip("nextflow is not on PATH: the pipeline's validation cannot run (make setup installs it)")
    got = outcomes[case.id]
    assert got.refused, f"{case.id}: not refused with exit status 2\n{got.stderr}"
    assert len(got.errors) == 1, f"{case.id}: expected one ERROR line, got {got.errors}\n{got.stderr}"
    message = got.errors[0]
    assert re.search(case.message, message), f"{case.id}: {case.message!r} not in {message!r}"
    if case.names:
        assert case.names in message, f"{case.id}: the message does not name {case.names}: {message!r}"
    assert not got.left_behind, f"{case.id}: files left in the output folder: {got.left_behind}"


def test_no_case_prints_a_traceback(outcomes):
    assert outcomes, "no case ran"
    printed = {name: o.stderr for name, o in outcomes.items() if "Traceback" in o.stderr}
    assert not printed, f"cases that print a traceback: {sorted(printed)}\n{next(iter(printed.values()), '')}"


def test_troubleshooting_md_lists_every_case():
    doc = (REPO / "docs" / "troubleshooting.md").read_text()
    missing = [c.id for c in CASES if f"`{c.id}`" not in doc]
    assert not missing, f"docs/troubleshooting.md does not list {missing}"


def test_cyvcf2_header_errors_are_one_line_even_without_the_text_check(base, tmp_path, monkeypatch):
    """Without stagevep's own header check, cyvcf2's bare ``Exception`` for the empty sample name is still
    re-raised as one InputError naming the file (the narrow catch around the cyvcf2 call)."""
    import stagevep.io.variants as variants

    monkeypatch.setattr(variants, "_check_vcf_header", lambda path: None)
    kit = Kit(tmp=tmp_path, out=tmp_path / "out", sheet_rows=[], **base)
    argv = prepare(kit, vcf(kit, "t.vcf", "chr1\t3000\t.\tA\tG\t.\t.\t.\tGT\t0/1\t0/1\n",
                            VCF_COLUMNS + "\tFORMAT\tS1\t"))
    case = Case("no_text_check", "variants", "prepare_variants.py", lambda k: argv, "", "t.vcf")
    got = _run_script(case, kit, argv)
    assert got.refused and "Traceback" not in got.stderr, got.stderr
    assert len(got.errors) == 1 and re.search(r"cannot read the header of VCF .*t\.vcf \(cannot parse VCF header\)",
                                              got.errors[0]), got.errors
    assert not got.left_behind


def test_variant_scores_of_the_bundled_format_still_read(base):
    """The good TSV the cases start from is read (so a case fails for its own defect, not the base file)."""
    from stagevep.io.variants import read_variants

    assert read_variants(base["variants"])["id"].tolist() == ["v1", "v2"]
    assert pd.read_csv(base["windows"], sep="\t", header=None).shape == (2, 5)
