"""End-to-end tests that run the real Nextflow pipeline (``-profile test``).

One full run is shared by all content tests (module-scoped fixture), then the
same launch directory is re-run with ``-resume``; a ``-stub`` run and a few
bad-input runs each get their own directory. Expected values are computed
independently from the bundled inputs (assets/test_data), never hard-coded.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import struct
import subprocess
import warnings
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pyBigWig
import pyfaidx
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from conftest import raw_values
from stagevep.io.peaks import read_peaks

pytestmark = pytest.mark.pipeline

REPO = Path(__file__).resolve().parents[1]
MAIN_NF = REPO / "main.nf"
TEST_DATA = REPO / "assets" / "test_data"

# -profile test geometry (conf/test.config): 32 bins of 128 bp in a 6,144 bp context
N_BINS = 32
BIN_SIZE = 128
CONTEXT = 6_144
TARGET_LENGTH = N_BINS * BIN_SIZE
CLIP_PERCENTILE = 99.9
VAL_CHROMS = {"chr8"}
TEST_CHROMS = {"chr2", "chr10"}
EXCLUDE_CHROMS = {"chrY"}
QC_FILES = [f"prepare/qc/{name}" for name in (
    "replicate_concordance.tsv", "replicate_concordance.png", "replicate_concordance.pdf",
    "signal_distribution.tsv", "signal_distribution.png", "signal_distribution.pdf",
    "windows_per_split.tsv", "windows_per_split.png", "windows_per_split.pdf",
)]

# conf/test.config: 144 bundled variants in shards of 50, calibrated against 2,000 background SNVs
SHARD_SIZE = 50
BACKGROUND_N = 2000

FULL_RUN_TIMEOUT = 1800
SHORT_RUN_TIMEOUT = 600
HEX_DIR = re.compile(r"^[0-9a-f]{2}$")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def nextflow_bin() -> str:
    exe = shutil.which("nextflow")
    if exe is None:
        pytest.fail(
            "nextflow is not on PATH: run `make setup` (it installs the launcher into .venv/bin) and run the "
            "tests with PATH=$PWD/.venv/bin:$PATH",
            pytrace=False,
        )
    return exe


def nextflow_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("NXF_OPTS", "-XX:+TieredCompilation -XX:TieredStopAtLevel=1")
    return env


def run_nextflow(launch_dir: Path, *args: str, timeout: int = SHORT_RUN_TIMEOUT, profile: str = "test",
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``nextflow run <repo>/main.nf -profile <profile> --outdir <launch_dir>/results <args>`` in ``launch_dir``.

    ``env`` defaults to :func:`nextflow_env`. stdout and stderr are combined in ``.stdout``.
    """
    launch_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        nextflow_bin(), "run", str(MAIN_NF), "-profile", profile, "-ansi-log", "false",
        "--outdir", str(launch_dir / "results"), *args,
    ]
    return subprocess.run(
        cmd, cwd=launch_dir, env=nextflow_env() if env is None else env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False,
    )


def describe(proc: subprocess.CompletedProcess, launch_dir: Path) -> str:
    """Command, exit status, output and the tail of .nextflow.log, for assertion messages."""
    log = launch_dir / ".nextflow.log"
    tail = log.read_text(errors="replace")[-4000:] if log.exists() else "(no .nextflow.log)"
    return (
        f"command: {' '.join(proc.args)}\nexit status: {proc.returncode}\n"
        f"--- stdout+stderr ---\n{proc.stdout}\n--- tail of {log} ---\n{tail}"
    )


def trace_files(outdir: Path) -> list[Path]:
    """execution_trace_*.txt, oldest first (the names carry a sortable timestamp)."""
    return sorted((outdir / "pipeline_info").glob("execution_trace*.txt"))


def read_trace(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def task_dirs(launch_dir: Path) -> list[Path]:
    """Task work directories (work/<2 hex>/...) created under ``launch_dir``."""
    work = launch_dir / "work"
    if not work.is_dir():
        return []
    return [d for d in work.iterdir() if d.is_dir() and HEX_DIR.match(d.name)]


def short_name(process: str) -> str:
    return process.split(":")[-1]


def samplesheet_rows() -> list[dict[str, str]]:
    with open(TEST_DATA / "samplesheet.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def stage_order() -> list[str]:
    return list(dict.fromkeys(r["stage"] for r in samplesheet_rows()))


def replicate_bigwigs(stage: str) -> list[Path]:
    return [TEST_DATA / r["bigwig"] for r in samplesheet_rows() if r["stage"] == stage]


def peak_files() -> list[Path]:
    return [TEST_DATA / r["peaks"] for r in samplesheet_rows()]


def fai_lengths() -> dict[str, int]:
    lengths: dict[str, int] = {}
    with open(TEST_DATA / "genome.fa.fai") as fh:
        for line in fh:
            name, length, *_ = line.split("\t")
            lengths[name] = int(length)
    return lengths


def read_bed3(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", header=None, usecols=[0, 1, 2], names=["chrom", "start", "end"],
                       dtype={"chrom": str, "start": "int64", "end": "int64"})


def read_windows(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", header=None, dtype=str)


def read_scores_tsv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=["NA"], dtype={"id": str, "group": str})


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from the IHDR chunk; fails unless the file starts with the PNG signature."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} does not start with the PNG signature"
    assert head[12:16] == b"IHDR", f"{path}: first chunk is {head[12:16]!r}, not IHDR"
    return struct.unpack(">II", head[16:24])


def expected_union_peaks() -> pd.DataFrame:
    """``sort -k1,1 -k2,2n | bedtools merge -i -`` of every peak file's first three columns."""
    allpeaks = pd.concat([read_peaks(p) for p in peak_files()], ignore_index=True)
    text = allpeaks[["chrom", "start", "end"]].to_csv(sep="\t", header=False, index=False)
    env = dict(os.environ, LC_ALL="C")
    bedtools = shutil.which("bedtools")
    assert bedtools, "bedtools is not on PATH: run `make setup`"
    srt = subprocess.run(["sort", "-k1,1", "-k2,2n"], input=text, capture_output=True, text=True, env=env,
                         check=True)
    merged = subprocess.run([bedtools, "merge", "-i", "-"], input=srt.stdout, capture_output=True, text=True,
                            check=True)
    rows = [line.split("\t")[:3] for line in merged.stdout.splitlines() if line.strip()]
    return pd.DataFrame(rows, columns=["chrom", "start", "end"]).astype({"start": "int64", "end": "int64"})


def expected_windows(union: pd.DataFrame) -> pd.DataFrame:
    """Windows centred on ``union`` peaks that fit inside their chromosome, in FASTA order then start."""
    lengths = fai_lengths()
    order = {c: i for i, c in enumerate(lengths)}
    rows = []
    for chrom, start, end in union.itertuples(index=False):
        if chrom not in lengths or chrom in EXCLUDE_CHROMS:
            continue
        w_start = (start + end) // 2 - TARGET_LENGTH // 2
        w_end = w_start + TARGET_LENGTH
        if w_start >= 0 and w_end <= lengths[chrom]:
            split = "val" if chrom in VAL_CHROMS else "test" if chrom in TEST_CHROMS else "train"
            rows.append((chrom, w_start, w_end, split))
    rows.sort(key=lambda r: (order[r[0]], r[1]))
    return pd.DataFrame(rows, columns=["chrom", "start", "end", "split"])


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(stats.pearsonr(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))[0])


# ---------------------------------------------------------------------------
# the one full run
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def full_run(tmp_path_factory) -> Path:
    """Launch directory of one complete ``-profile test`` run (results in ``<dir>/results``)."""
    launch = tmp_path_factory.mktemp("nf_full")
    proc = run_nextflow(launch, timeout=FULL_RUN_TIMEOUT)
    assert proc.returncode == 0, "the -profile test run failed\n" + describe(proc, launch)
    return launch


@pytest.fixture(scope="module")
def outdir(full_run: Path) -> Path:
    return full_run / "results"


def test_full_run_completed_every_process(outdir):
    traces = trace_files(outdir)
    assert traces, f"no execution trace in {outdir / 'pipeline_info'}"
    trace = read_trace(traces[0])
    assert (trace["status"] == "COMPLETED").all(), trace[["name", "status"]].to_string()
    ran = {short_name(p) for p in trace["process"]}
    expected = {"PREFLIGHT", "AVERAGE_BIGWIGS", "UNION_PEAKS", "MAKE_WINDOWS", "MAKE_TARGETS", "PREPARE_QC",
                "TRAIN_MODEL", "EVALUATE_MODEL", "PREPARE_VARIANTS", "SCORE_VARIANTS", "SCORE_BACKGROUND",
                "MERGE_SCORES", "COMPARE_GROUPS", "PLOT_VARIANTS", "ATTRIBUTE_VARIANTS", "REPORT"}
    assert ran == expected
    n_variants = len(pd.read_csv(TEST_DATA / "variants.tsv", sep="\t"))
    n_shards = (trace["process"].map(short_name) == "SCORE_VARIANTS").sum()
    assert n_shards == math.ceil(n_variants / SHARD_SIZE), "SCORE_VARIANTS should run once per shard"
    n_average = (trace["process"].map(short_name) == "AVERAGE_BIGWIGS").sum()
    assert n_average == len(stage_order()), "AVERAGE_BIGWIGS should run once per stage"


def test_averaged_bigwigs_are_replicate_means(outdir):
    stages = stage_order()
    averaged_dir = outdir / "prepare" / "averaged"
    assert sorted(p.name for p in averaged_dir.glob("*.mean.bw")) == sorted(f"{s}.mean.bw" for s in stages)
    union = read_bed3(outdir / "prepare" / "peaks" / "union_peaks.bed")
    chr1_peaks = union[union["chrom"] == "chr1"]
    chr1_len = fai_lengths()["chr1"]
    rng = np.random.default_rng(0)
    # a few regions around chr1 peaks (signal) and a few random ones (mostly background)
    regions = [("chr1", max(0, int(s) - 500), min(chr1_len, int(e) + 500)) for s, e in
               chr1_peaks[["start", "end"]].head(3).itertuples(index=False)]
    for start in rng.integers(0, chr1_len - 5000, size=3):
        regions.append(("chr1", int(start), int(start) + 5000))
    regions.append(("chr1", chr1_len - 3000, chr1_len))
    for stage in stages:
        reps = replicate_bigwigs(stage)
        path = averaged_dir / f"{stage}.mean.bw"
        bw = pyBigWig.open(str(path))
        assert bw is not None and bw.isBigWig(), f"{path} is not a bigWig"
        rep_chroms: dict[str, int] = {}
        for rep in reps:
            r = pyBigWig.open(str(rep))
            rep_chroms.update(r.chroms())
            r.close()
        assert dict(bw.chroms()) == rep_chroms, f"{path}: chromosomes differ from the replicates'"
        bw.close()
        signal = 0.0
        for chrom, start, end in regions:
            got = raw_values(path, chrom, start, end)
            want = np.mean([raw_values(rep, chrom, start, end) for rep in reps], axis=0)
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6,
                                       err_msg=f"{stage} mean differs on {chrom}:{start}-{end}")
            signal += float(want.sum())
        assert signal > 0, f"the sampled regions of {stage} carry no signal: the check is vacuous"


def test_union_peaks_equal_bedtools_merge(outdir):
    got = read_bed3(outdir / "prepare" / "peaks" / "union_peaks.bed")
    want = expected_union_peaks()
    assert len(want) > 0
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))


def test_windows_geometry_and_split(outdir):
    windows = read_windows(outdir / "prepare" / "windows" / "windows.bed")
    assert windows.shape[1] == 5, f"windows.bed has {windows.shape[1]} columns, expected 5"
    windows.columns = ["chrom", "start", "end", "name", "split"]
    start = windows["start"].astype(np.int64)
    end = windows["end"].astype(np.int64)
    assert ((end - start) == TARGET_LENGTH).all(), "every window must be n_bins * bin_size = 4,096 bp"
    assert not windows["chrom"].isin(EXCLUDE_CHROMS).any(), "excluded chromosome chrY has windows"
    for chrom, split in zip(windows["chrom"], windows["split"], strict=True):
        want = "val" if chrom in VAL_CHROMS else "test" if chrom in TEST_CHROMS else "train"
        assert split == want, f"window on {chrom} has split {split!r}, expected {want!r}"
    lengths = fai_lengths()
    assert (start >= 0).all() and all(e <= lengths[c] for c, e in zip(windows["chrom"], end, strict=True))

    union = read_bed3(outdir / "prepare" / "peaks" / "union_peaks.bed")
    want = expected_windows(union)
    got_counts = windows["split"].value_counts().to_dict()
    want_counts = want["split"].value_counts().to_dict()
    assert got_counts == want_counts
    assert set(want_counts) == {"train", "val", "test"}, "the test data should populate all three splits"
    got = pd.DataFrame({"chrom": windows["chrom"], "start": start, "end": end, "split": windows["split"]})
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))


def test_targets_h5(outdir):
    stages = stage_order()
    windows = read_windows(outdir / "prepare" / "windows" / "windows.bed")
    with h5py.File(outdir / "prepare" / "targets" / "targets.h5", "r") as h5:
        targets = h5["targets"][...]
        raw = h5["raw_sums"][...]
        tracks = [t.decode() if isinstance(t, bytes) else str(t) for t in h5.attrs["tracks"]]
        chrom = h5["chrom"].asstr()[...]
        start = h5["start"][...]
        end = h5["end"][...]
        split = h5["split"].asstr()[...]
    assert targets.shape == (len(windows), N_BINS, len(stages))
    assert targets.dtype == np.float32
    assert np.isfinite(targets).all() and (targets >= 0).all()
    assert tracks == stages
    assert list(chrom) == list(windows[0])
    assert start.tolist() == windows[1].astype(int).tolist()
    assert end.tolist() == windows[2].astype(int).tolist()
    assert list(split) == list(windows[4])

    averaged = {s: outdir / "prepare" / "averaged" / f"{s}.mean.bw" for s in stages}
    checked_signal = 0.0
    for i in sorted({0, len(windows) // 2, len(windows) - 1}):
        sums = np.stack([
            raw_values(averaged[s], chrom[i], int(start[i]), int(end[i])).reshape(N_BINS, BIN_SIZE).sum(axis=1)
            for s in stages
        ], axis=1)
        logs = np.log1p(sums)
        cap = np.percentile(logs, CLIP_PERCENTILE, axis=0, keepdims=True)
        want = np.minimum(logs, cap)
        np.testing.assert_allclose(raw[i], sums, rtol=1e-5, atol=1e-4, err_msg=f"raw_sums of window {i}")
        np.testing.assert_allclose(targets[i], want, rtol=1e-5, atol=1e-5, err_msg=f"targets of window {i}")
        checked_signal += float(sums.sum())
    assert checked_signal > 0, "the checked windows carry no signal: the check is vacuous"


def test_checkpoint(outdir):
    import torch

    ckpt = torch.load(outdir / "train" / "best.pt", map_location="cpu", weights_only=False)
    for key in ("state_dict", "model_config", "tracks", "geometry", "target_transform", "train_config",
                "stagevep_version"):
        assert key in ckpt, f"best.pt lacks {key!r}"
    assert dict(ckpt["geometry"]) == {"n_bins": N_BINS, "bin_size": BIN_SIZE, "context_length": CONTEXT}
    assert list(ckpt["tracks"]) == stage_order()
    assert len(ckpt["state_dict"]) > 0
    assert (outdir / "train" / "last.pt").is_file()
    assert (outdir / "train" / "config.json").is_file()

    metrics = pd.read_csv(outdir / "train" / "metrics.csv")
    assert "val_loss" in metrics.columns
    val = metrics[metrics["val_loss"].notna()]
    assert len(val) > 0, "train/metrics.csv has no validation rows"
    assert np.isfinite(val["val_loss"].to_numpy(dtype=float)).all()


def test_evaluation_metrics(outdir):
    stages = stage_order()
    metrics = pd.read_csv(outdir / "evaluate" / "metrics.tsv", sep="\t", keep_default_na=False,
                          na_values=["NA", "nan", "NaN"])
    summary = json.loads((outdir / "evaluate" / "metrics.json").read_text())
    for m, t, v, p, s in metrics[["metric", "track", "value", "prediction", "space"]].itertuples(index=False):
        got = summary["metrics"][p][s][m][t]
        if math.isnan(v):  # undefined (e.g. the constant totals of the mean profile): null in the JSON
            assert got is None, f"{p}/{s}/{m}/{t}: {got} where metrics.tsv has NA"
        else:
            assert math.isclose(got, v, rel_tol=1e-5, abs_tol=1e-6), f"{p}/{s}/{m}/{t}"
    metrics = metrics[(metrics["prediction"] == "forward") & (metrics["space"] == "transformed")]
    for name in ("mean_window_pearson", "pearson_all_bins"):
        rows = metrics[metrics["metric"] == name]
        assert sorted(rows["track"]) == sorted(stages + ["all"]), f"{name}: tracks {list(rows['track'])}"
        values = rows["value"].to_numpy(dtype=float)
        assert np.isfinite(values).all() and (np.abs(values) <= 1).all(), f"{name}: {values}"

    with h5py.File(outdir / "prepare" / "targets" / "targets.h5", "r") as h5:
        split = h5["split"].asstr()[...]
        test_idx = np.flatnonzero(split == "test")
        obs = h5["targets"][...][test_idx]
        obs_keys = list(zip(h5["chrom"].asstr()[...][test_idx], h5["start"][...][test_idx], strict=True))
    with h5py.File(outdir / "evaluate" / "predictions.h5", "r") as h5:
        pred = h5["predictions"][...]
        pred_keys = list(zip(h5["chrom"].asstr()[...], h5["start"][...], strict=True))
    assert len(test_idx) > 0
    assert pred.shape == obs.shape
    assert pred_keys == obs_keys, "predictions.h5 windows are not the test-split windows of targets.h5"
    assert np.isfinite(pred).all()

    value = {(m, t): v for m, t, v in metrics[["metric", "track", "value"]].itertuples(index=False)}
    all_bins = []
    for t, stage in enumerate(stages):
        r = pearson(pred[:, :, t].ravel(), obs[:, :, t].ravel())
        all_bins.append(r)
        assert value[("pearson_all_bins", stage)] == pytest.approx(r, abs=1e-4), f"pearson_all_bins {stage}"
        per_window = [pearson(pred[i, :, t], obs[i, :, t]) for i in range(len(pred))
                      if np.ptp(pred[i, :, t]) > 0 and np.ptp(obs[i, :, t]) > 0]
        assert value[("mean_window_pearson", stage)] == pytest.approx(np.mean(per_window), abs=1e-4), \
            f"mean_window_pearson {stage}"
    assert value[("pearson_all_bins", "all")] == pytest.approx(np.mean(all_bins), abs=1e-4)
    assert len(test_idx) >= 100, "the bundled data should give at least 100 test windows"


def test_variant_scores(outdir):
    stages = stage_order()
    variants = pd.read_csv(TEST_DATA / "variants.tsv", sep="\t", dtype=str, keep_default_na=False)
    scores = read_scores_tsv(outdir / "variants" / "scores.tsv")
    assert sorted(scores["id"]) == sorted(variants["id"]), "every input variant must appear exactly once"
    assert not scores["id"].duplicated().any()
    bad = scores[scores["status"] != "ok"]
    assert bad.empty, f"variants not scored on the clean bundled table:\n{bad[['id', 'status']]}"
    by_id = scores.set_index("id")
    for col in ("chrom", "group"):
        assert (by_id.loc[variants["id"], col].to_numpy() == variants[col].to_numpy()).all(), col
    assert (by_id.loc[variants["id"], "pos"].astype(int).to_numpy() == variants["pos"].astype(int).to_numpy()).all()
    abs_cols = [f"{s}_abs_log2fc" for s in stages]
    for s in stages:
        for suffix in ("delta_sum", "abs_log2fc"):
            assert f"{s}_{suffix}" in scores.columns, f"scores.tsv lacks {s}_{suffix}"
    assert "score" in scores.columns
    numeric = scores[abs_cols + ["score"] + [f"{s}_delta_sum" for s in stages]].to_numpy(dtype=float)
    assert np.isfinite(numeric).all()
    assert (scores[abs_cols].to_numpy(dtype=float) >= 0).all()
    np.testing.assert_allclose(scores["score"].to_numpy(dtype=float),
                               scores[abs_cols].to_numpy(dtype=float).max(axis=1), rtol=1e-6, atol=0)
    assert scores["score"].nunique() > 1, "all variants got the same score"

    parquet = pd.read_parquet(outdir / "variants" / "scores.parquet")
    assert list(parquet.columns) == list(scores.columns)
    assert list(parquet["id"].astype(str)) == list(scores["id"])
    assert list(parquet["status"]) == list(scores["status"])
    num_cols = [c for c in scores.columns if c.endswith(("_delta_sum", "_abs_log2fc")) or c == "score"]
    np.testing.assert_allclose(parquet[num_cols].to_numpy(dtype=float), scores[num_cols].to_numpy(dtype=float),
                               rtol=1e-5, atol=1e-6)


def test_group_stats_and_plots(outdir):
    stages = stage_order()
    variants = pd.read_csv(TEST_DATA / "variants.tsv", sep="\t", dtype=str, keep_default_na=False)
    n_pos = int((variants["group"] == "functional").sum())
    n_neg = int((variants["group"] == NEGATIVE_GROUP).sum())
    assert n_pos >= 2 and n_neg >= 2

    gs = pd.read_csv(outdir / "variants" / "group_stats.tsv", sep="\t", keep_default_na=False, na_values=["NA"])
    expected_metrics = (["score"] + [f"{s}_abs_log2fc" for s in stages] + ["effect"]
                        + [f"{s}_delta_signal" for s in stages])
    assert list(gs["metric"]) == expected_metrics
    assert set(gs["negative_group"]) == {NEGATIVE_GROUP}
    scores = read_scores_tsv(outdir / "variants" / "scores.tsv")
    is_pos = (scores["group"] == "functional").to_numpy()
    is_neg = (scores["group"] == NEGATIVE_GROUP).to_numpy()
    for row in gs.itertuples(index=False):
        assert int(row.n_pos) == n_pos and int(row.n_neg) == n_neg, row.metric
        values = scores[row.metric].to_numpy(dtype=float)
        pos, neg = values[is_pos], values[is_neg]
        mw = stats.mannwhitneyu(pos, neg, alternative="two-sided")
        auc = roc_auc_score(np.r_[np.ones(len(pos)), np.zeros(len(neg))], np.r_[pos, neg])
        assert row.mannwhitney_p == pytest.approx(mw.pvalue, rel=1e-4, abs=1e-8), row.metric
        assert row.auc == pytest.approx(auc, rel=1e-4, abs=1e-6), row.metric

    pngs = sorted((outdir / "variants" / "plots").glob("*.png"))
    assert pngs, "no PNG in variants/plots/"
    for png in pngs:
        assert png.stat().st_size > 2000, f"{png} is suspiciously small"
        width, height = png_size(png)
        assert width > 100 and height > 100, f"{png} is {width}x{height}"


def test_pipeline_info(outdir):
    info = outdir / "pipeline_info"
    for pattern in ("execution_report*.html", "execution_timeline*.html", "execution_trace*.txt",
                    "pipeline_dag*.html"):
        found = list(info.glob(pattern))
        assert found, f"no {pattern} in {info}"
        assert all(p.stat().st_size > 0 for p in found), pattern
    params_files = sorted(info.glob("params_*.json"))
    assert params_files, f"no params_*.json in {info}"
    params = json.loads(params_files[0].read_text())
    assert params["model_size"] == "tiny"
    assert params["n_bins"] == N_BINS

    versions = (info / "software_versions.yml").read_text()
    keys = {line.rstrip().rstrip(":").strip('"') for line in versions.splitlines()
            if line.strip() and not line.startswith((" ", "\t", "#"))}
    ran = set(read_trace(trace_files(outdir)[0])["process"])
    assert ran <= keys, f"processes missing from software_versions.yml: {sorted(ran - keys)}"
    short = {short_name(k) for k in keys}
    assert {"TRAIN_MODEL", "SCORE_VARIANTS"} <= short
    assert "torch:" in versions


# must stay after the content tests: it re-publishes into the same outdir
def test_fasta_index_is_staged_not_rebuilt(full_run, outdir):
    """Every task that reads the FASTA finds the user's .fai staged beside it (a link), so none re-indexes the
    genome (tens of seconds per task on hg38)."""
    trace = read_trace(trace_files(outdir)[0])
    readers = {"AVERAGE_BIGWIGS", "MAKE_WINDOWS", "MAKE_TARGETS", "TRAIN_MODEL", "EVALUATE_MODEL", "PREPARE_VARIANTS",
               "SCORE_VARIANTS", "SCORE_BACKGROUND"}
    rows = trace[trace["process"].map(short_name).isin(readers)]
    assert set(rows["process"].map(short_name)) == readers
    user_fai = (REPO / "assets" / "test_data" / "genome.fa.fai").resolve()
    for name, task_hash in zip(rows["name"], rows["hash"], strict=True):
        (workdir,) = (full_run / "work").glob(f"{task_hash}*")
        fai = workdir / "genome.fa.fai"
        assert fai.is_symlink() and fai.resolve() == user_fai, f"{name}: {fai} is not the staged user index"


def test_resume_caches_every_task(full_run, outdir):
    first = read_trace(trace_files(outdir)[0])
    proc = run_nextflow(full_run, "-resume")
    assert proc.returncode == 0, "the -resume run failed\n" + describe(proc, full_run)
    traces = trace_files(outdir)
    assert len(traces) >= 2, f"the -resume run wrote no new trace: {traces}"
    trace = read_trace(traces[-1])
    # the background is found in its storeDir (train/background/): Nextflow skips it without a trace row
    stored = first["process"].map(short_name) == "SCORE_BACKGROUND"
    assert stored.sum() == 1 and "SCORE_BACKGROUND" not in set(trace["process"].map(short_name)), proc.stdout
    assert len(trace) == len(first) - 1, f"-resume trace lists {len(trace)} tasks, the first run {len(first)}"
    rerun = trace[trace["status"] != "CACHED"]
    assert rerun.empty, "tasks re-executed on -resume:\n" + rerun[["name", "status"]].to_string()


# ---------------------------------------------------------------------------
# -stub
# ---------------------------------------------------------------------------


def test_stub_run_publishes_every_output(tmp_path):
    proc = run_nextflow(tmp_path, "-stub", "--discover_motifs", "true")
    assert proc.returncode == 0, "the -stub run failed\n" + describe(proc, tmp_path)
    out = tmp_path / "results"
    expected = [f"prepare/averaged/{s}.mean.bw" for s in stage_order()] + [
        "prepare/peaks/union_peaks.bed", "prepare/windows/windows.bed", "prepare/targets/targets.h5",
        "prepare/windows/windows_summary.tsv", *QC_FILES,
        "train/best.pt", "train/last.pt", "train/metrics.csv", "train/config.json",
        "evaluate/metrics.tsv", "evaluate/metrics.json", "evaluate/predictions.h5", "evaluate/window_metrics.tsv",
    ] + [f"evaluate/bigwig/{s}.pred.bw" for s in stage_order()] + [
        f"evaluate/plots/scatter_{s}.{ext}" for s in stage_order() for ext in ("png", "pdf")] + [
        f"evaluate/plots/{k}.{ext}" for k in ("window_pearson", "tracks_best", "tracks_median", "tracks_worst")
        for ext in ("png", "pdf")] + [
        "variants/scores.tsv", "variants/scores.parquet", "variants/group_stats.tsv", "variants/scores.vcf.gz",
        "variants/scores.vcf.gz.tbi", "variants/top_variants.tsv", "variants/tracks.h5",
        "variants/attribution/stub.h5", "variants/attribution/stub.png", "evaluate/motifs/motifs.tsv",
        "evaluate/motifs/motifs.meme", "evaluate/motifs/stage_contributions.png",
        "pipeline_info/software_versions.yml", "report/report.html",
    ]
    missing = [p for p in expected if not (out / p).is_file()]
    assert not missing, f"-stub run did not publish {missing}\n" + describe(proc, tmp_path)
    assert list((out / "variants" / "plots").iterdir()), "-stub run published no variants/plots/"
    assert not list(out.rglob("versions.yml")), "versions.yml must not be published"
    trace = read_trace(trace_files(out)[-1])
    assert (trace["status"] == "COMPLETED").all(), trace[["name", "status"]].to_string()


# ---------------------------------------------------------------------------
# bad inputs: each fails with a message naming the problem, before any heavy work
# ---------------------------------------------------------------------------

HEADER = ["stage", "replicate", "bigwig", "peaks"]


def absolute_rows() -> list[dict[str, str]]:
    return [{**r, "bigwig": str(TEST_DATA / r["bigwig"]), "peaks": str(TEST_DATA / r["peaks"])}
            for r in samplesheet_rows()]


def write_sheet(path: Path, rows: list[dict[str, str]], columns: list[str] = HEADER) -> Path:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def sheet_missing_bigwig(tmp: Path) -> list[str]:
    rows = absolute_rows()
    rows[1]["bigwig"] = str(tmp / "does_not_exist.bw")  # data row 2 = line 3 of the file
    return ["--input", str(write_sheet(tmp / "sheet.csv", rows))]


def sheet_missing_column(tmp: Path) -> list[str]:
    return ["--input", str(write_sheet(tmp / "sheet.csv", absolute_rows(), ["stage", "replicate", "bigwig"]))]


def sheet_duplicate(tmp: Path) -> list[str]:
    rows = absolute_rows()
    rows.append(dict(rows[0]))
    return ["--input", str(write_sheet(tmp / "sheet.csv", rows))]


GROOVY_CASES = {
    "missing_bigwig": (sheet_missing_bigwig, ["file not found", "row 3", "does_not_exist.bw"]),
    "missing_column": (sheet_missing_column, ["missing column", "peaks"]),
    "duplicate_row": (sheet_duplicate, ["duplicate", "CS13", "rep1"]),
    "unknown_param": (lambda tmp: ["--foo_bar", "1"], ["unknown parameter", "foo_bar"]),
    "wrong_type": (lambda tmp: ["--max_steps", "abc"], ["must be an integer", "max_steps"]),
    "hyphenated_param": (lambda tmp: ["--max-steps", "10"], ["--max-steps is not read by the pipeline", "--max_steps"]),
}


@pytest.mark.parametrize("case", list(GROOVY_CASES))
def test_bad_input_fails_before_any_task(tmp_path, case):
    make_args, needles = GROOVY_CASES[case]
    launch = tmp_path / "launch"
    launch.mkdir()
    # -stub: validation happens before any task either way, and a regression that lets the bad input
    # through then costs seconds (stub tasks) instead of a full training run
    proc = run_nextflow(launch, "-stub", *make_args(tmp_path))
    detail = describe(proc, launch)
    assert proc.returncode != 0, f"{case}: the pipeline accepted a bad input\n{detail}"
    for needle in needles:
        assert needle.lower() in proc.stdout.lower(), f"{case}: {needle!r} not in the error\n{detail}"
    assert not task_dirs(launch), f"{case}: tasks ran before validation failed: {task_dirs(launch)}\n{detail}"
    assert "Submitted process" not in proc.stdout, detail
    for trace in trace_files(launch / "results"):
        assert read_trace(trace).empty, f"{case}: {trace} lists tasks\n{detail}"


def test_fasta_sharing_no_contig_fails_in_preflight(tmp_path):
    fasta = tmp_path / "other.fa"
    rng = np.random.default_rng(0)
    with open(fasta, "w") as fh:
        for name in ("1", "2"):
            seq = "".join(rng.choice(list("ACGT"), size=600))
            fh.write(f">{name}\n" + "\n".join(seq[i:i + 60] for i in range(0, len(seq), 60)) + "\n")
    launch = tmp_path / "launch"
    proc = run_nextflow(launch, "--fasta", str(fasta))
    detail = describe(proc, launch)
    assert proc.returncode != 0, f"the pipeline accepted a FASTA without the bigWigs' contigs\n{detail}"
    # FASTA '1', '2' vs bigWigs 'chr1', ...: the chr-prefix rule names both styles and the fix
    assert "differ by the 'chr' prefix" in proc.stdout, detail
    traces = trace_files(launch / "results")
    assert traces, f"no execution trace\n{detail}"
    trace = read_trace(traces[-1])
    processes = {short_name(p) for p in trace["process"]}
    assert processes == {"PREFLIGHT"}, f"tasks other than PREFLIGHT ran: {processes}\n{detail}"
    assert (trace["status"] == "FAILED").all(), trace[["name", "status"]].to_string()


def test_averaged_bigwigs_follow_fasta_order_and_match_every_base(outdir):
    fasta_order = list(fai_lengths())
    for stage in stage_order():
        path = outdir / "prepare" / "averaged" / f"{stage}.mean.bw"
        bw = pyBigWig.open(str(path))
        chroms = dict(bw.chroms())
        bw.close()
        assert list(chroms) == [c for c in fasta_order if c in chroms], f"{path}: not in the FASTA's order"
        reps = replicate_bigwigs(stage)
        for chrom, length in chroms.items():
            want = np.mean([raw_values(rep, chrom, 0, length) for rep in reps], axis=0)
            np.testing.assert_allclose(raw_values(path, chrom, 0, length), want, rtol=1e-5, atol=1e-5,
                                       err_msg=f"{stage} mean differs on {chrom}")


def test_every_raw_sum_bin_equals_numpy_sum_of_values(outdir):
    stages = stage_order()
    with h5py.File(outdir / "prepare" / "targets" / "targets.h5", "r") as h5:
        raw = h5["raw_sums"][...]
        chrom = h5["chrom"].asstr()[...]
        start = h5["start"][...]
        end = h5["end"][...]
        assert h5.attrs["clip_scope"] == "window"
    for t, stage in enumerate(stages):
        path = outdir / "prepare" / "averaged" / f"{stage}.mean.bw"
        want = np.stack([raw_values(path, c, int(s), int(e)).reshape(N_BINS, BIN_SIZE).sum(axis=1)
                         for c, s, e in zip(chrom, start, end, strict=True)])
        np.testing.assert_allclose(raw[:, :, t], want, rtol=1e-5, atol=1e-4, err_msg=f"raw_sums of {stage}")
    assert raw.sum() > 0
# ---------------------------------------------------------------------------
# windows summary and prepare/qc (appended; they reuse the one full run)
# ---------------------------------------------------------------------------


def test_windows_summary_matches_windows_bed(outdir):
    windows = read_windows(outdir / "prepare" / "windows" / "windows.bed")
    summary = pd.read_csv(outdir / "prepare" / "windows" / "windows_summary.tsv", sep="\t")
    per_chrom = summary[summary["chrom"] != "all"].set_index("chrom")
    assert per_chrom["windows"][per_chrom["windows"] > 0].to_dict() == windows[0].value_counts().to_dict()
    union = read_bed3(outdir / "prepare" / "peaks" / "union_peaks.bed")
    total = summary[(summary["chrom"] == "all") & (summary["split"] == "all")].iloc[0]
    assert total["peaks"] == len(union)
    reasons = ["unknown_contig", "not_kept", "excluded", "outside_chromosome", "blacklisted", "duplicate"]
    assert total["windows"] + total[reasons].sum() == len(union), "every union peak is a window or a reason"
    assert per_chrom.loc["chrY", "windows"] == 0 and per_chrom.loc["chrY", "split"] == "none"


def test_prepare_qc_outputs(outdir):
    qc = outdir / "prepare" / "qc"
    for rel in QC_FILES:
        path = outdir / rel
        assert path.is_file() and path.stat().st_size > 0, f"{path} missing or empty"
        if path.suffix == ".png":
            png_size(path)
    # replicate concordance: scipy pearsonr on 128-bp bin sums of the replicates over the union peaks
    union = read_bed3(outdir / "prepare" / "peaks" / "union_peaks.bed")
    lengths = fai_lengths()
    bins = sorted({(c, b) for c, s, e in union.itertuples(index=False)
                   for b in range(int(s) // BIN_SIZE, (int(e) - 1) // BIN_SIZE + 1)})
    conc = pd.read_csv(qc / "replicate_concordance.tsv", sep="\t")
    multi = [s for s in stage_order() if len(replicate_bigwigs(s)) > 1]
    assert sorted(set(conc["stage"])) == sorted(multi)
    stage = multi[0]
    sums = {}
    for rep in replicate_bigwigs(stage):
        whole = {c: raw_values(rep, c, 0, n) for c, n in lengths.items()}
        sums[rep.stem.split("_", 1)[1]] = np.array([whole[c][b * BIN_SIZE:(b + 1) * BIN_SIZE].sum() for c, b in bins])
    for row in conc[conc["stage"] == stage].itertuples():
        assert row.n_bins == len(bins)
        assert math.isclose(row.pearson, pearson(sums[row.replicate_a], sums[row.replicate_b]), abs_tol=1e-9)
    # signal distribution: from targets.h5 directly
    dist = pd.read_csv(qc / "signal_distribution.tsv", sep="\t")
    with h5py.File(outdir / "prepare" / "targets" / "targets.h5", "r") as h5:
        data = {"raw_sums": h5["raw_sums"][...].astype(np.float64), "targets": h5["targets"][...].astype(np.float64)}
    for t, stage in enumerate(stage_order()):
        for space, arr in data.items():
            row = dist[(dist["stage"] == stage) & (dist["space"] == space)].iloc[0]
            assert row["n_values"] == arr[..., t].size
            assert math.isclose(row["mean"], arr[..., t].mean(), rel_tol=1e-6)
            assert math.isclose(row["max"], arr[..., t].max(), rel_tol=1e-6)
    # windows per split: counted from windows.bed
    per_split = pd.read_csv(qc / "windows_per_split.tsv", sep="\t")
    windows = read_windows(outdir / "prepare" / "windows" / "windows.bed")
    want = windows.groupby([4, 0]).size().to_dict()
    got = {(r.split, r.chrom): r.windows for r in per_split.itertuples()}
    assert got == want
# ---------------------------------------------------------------------------
# evaluation outputs (issue 5): RC averaging, raw space, predicted bigWigs, plots
# ---------------------------------------------------------------------------


def test_evaluation_rc_average_and_raw_space_metrics(outdir):
    """-profile test sets --rc_average: plain and RC-averaged metrics, each in both spaces, agree with scipy."""
    stages = stage_order()
    metrics = pd.read_csv(outdir / "evaluate" / "metrics.tsv", sep="\t", keep_default_na=False,
                          na_values=["NA", "nan", "NaN"])
    assert set(metrics["prediction"]) == {"forward", "rc_average", "mean_profile", "shuffled"}
    assert set(metrics["space"]) == {"transformed", "raw"}
    with h5py.File(outdir / "prepare" / "targets" / "targets.h5", "r") as h5:
        test_idx = np.flatnonzero(h5["split"].asstr()[...] == "test")
        obs = {"transformed": h5["targets"][...][test_idx], "raw": h5["raw_sums"][...][test_idx]}
    with h5py.File(outdir / "evaluate" / "predictions.h5", "r") as h5:
        pred = {"forward": h5["predictions"][...], "rc_average": h5["predictions_rc_average"][...]}
    assert not np.allclose(pred["forward"], pred["rc_average"])
    value = {tuple(k): v for *k, v in metrics[["prediction", "space", "metric", "track", "value"]]
             .itertuples(index=False)}
    for name, p in pred.items():
        for space, o in obs.items():
            q = p.astype(np.float64)  # float32 sums of near-constant predictions lose digits
            q = np.expm1(q) if space == "raw" else q
            o = o.astype(np.float64)
            for t, stage in enumerate(stages):
                assert value[(name, space, "pearson_all_bins", stage)] == pytest.approx(
                    pearson(q[..., t].ravel(), o[..., t].ravel()), abs=1e-4), (name, space, stage)
                assert value[(name, space, "spearman_all_bins", stage)] == pytest.approx(
                    stats.spearmanr(q[..., t].ravel(), o[..., t].ravel()).statistic, abs=1e-4), (name, space, stage)
                assert value[(name, space, "pearson_window_totals", stage)] == pytest.approx(
                    pearson(q[..., t].sum(1), o[..., t].sum(1)), abs=1e-4), (name, space, stage)
                dev_q = q.sum(1)[:, t] - q.sum(1).mean(1)
                dev_o = o.sum(1)[:, t] - o.sum(1).mean(1)
                assert value[(name, space, "stage_specificity", stage)] == pytest.approx(
                    pearson(dev_q, dev_o), abs=1e-4), (name, space, stage)


def test_predicted_bigwigs_open_and_match_predictions(outdir):
    stages = stage_order()
    with h5py.File(outdir / "evaluate" / "predictions.h5", "r") as h5:
        pred = h5["predictions_rc_average"][...]
        chrom, start, end = h5["chrom"].asstr()[...], h5["start"][...], h5["end"][...]
    signal = np.expm1(pred.astype(np.float64)) / BIN_SIZE
    for t, stage in enumerate(stages):
        path = outdir / "evaluate" / "bigwig" / f"{stage}.pred.bw"
        bw = pyBigWig.open(str(path))
        try:
            assert bw.chroms() == fai_lengths()
            for i in (0, len(pred) - 1):
                # independent: per base, the mean over every evaluated window covering it
                cover = np.flatnonzero((chrom == chrom[i]) & (start < end[i]) & (end > start[i]))
                total, count = np.zeros(end[i] - start[i]), np.zeros(end[i] - start[i])
                for j in cover:
                    lo, hi = max(start[i], start[j]), min(end[i], end[j])
                    total[lo - start[i]:hi - start[i]] += np.repeat(signal[j, :, t], BIN_SIZE)[
                        lo - start[j]:hi - start[j]]
                    count[lo - start[i]:hi - start[i]] += 1
                got = bw.values(str(chrom[i]), int(start[i]), int(end[i]), numpy=True)
                np.testing.assert_allclose(got, total / count, rtol=1e-5, err_msg=f"{stage} window {i}")
        finally:
            bw.close()


def test_evaluation_plots_for_every_stage(outdir):
    plots = outdir / "evaluate" / "plots"
    stems = [f"scatter_{s}" for s in stage_order()] + ["window_pearson", "tracks_best", "tracks_median",
                                                      "tracks_worst"]
    for stem in stems:
        width, height = png_size(plots / f"{stem}.png")
        assert width >= 400 and height >= 250, f"{stem}.png is {width}x{height}"
        assert (plots / f"{stem}.pdf").read_bytes()[:5] == b"%PDF-", f"{stem}.pdf"
    window_table = pd.read_csv(outdir / "evaluate" / "window_metrics.tsv", sep="\t")
    with h5py.File(outdir / "evaluate" / "predictions.h5", "r") as h5:
        assert len(window_table) == len(h5["chrom"])
# ---------------------------------------------------------------------------
# variant analysis (issue 6): saved tracks, per-variant panels, ROC, functional vs non-functional
# ---------------------------------------------------------------------------

PLOT_TOP_N = 3  # nextflow.config default of --plot_top_n
NEGATIVE_GROUP = "flank"  # conf/test.config: the location-matched null
CENTRAL_BINS = 8  # conf/test.config


def test_variant_tracks_reproduce_scores(outdir):
    """variants/tracks.h5 holds the top-N variants; numpy on its ref/alt tracks gives scores.tsv."""
    scores = read_scores_tsv(outdir / "variants" / "scores.tsv").set_index("id")
    with h5py.File(outdir / "variants" / "tracks.h5") as h5:
        ids = h5["id"].asstr()[:].tolist()
        ref, alt = h5["ref"][:].astype(np.float64), h5["alt"][:].astype(np.float64)
        tracks = [str(t) for t in h5.attrs["tracks"]]
        assert int(h5.attrs["central_bins"]) == CENTRAL_BINS and int(h5.attrs["n_bins"]) == N_BINS
    assert tracks == stage_order()
    assert sorted(ids) == sorted(scores["score"].sort_values(ascending=False).index[:PLOT_TOP_N])
    sl = slice(N_BINS // 2 - CENTRAL_BINS // 2, N_BINS // 2 + CENTRAL_BINS // 2)
    for k, vid in enumerate(ids):
        r, a = ref[k, sl], alt[k, sl]
        for t, stage in enumerate(tracks):
            row = scores.loc[vid]
            assert row[f"{stage}_delta_sum"] == pytest.approx((a - r)[:, t].sum(), rel=1e-4, abs=1e-6)
            assert row[f"{stage}_abs_log2fc"] == pytest.approx(
                np.abs(np.log2((a[:, t] + 1e-3) / (r[:, t] + 1e-3))).mean(), rel=1e-4, abs=1e-6)
            d = (a - r)[:, t]
            assert row[f"{stage}_max_delta"] == pytest.approx(d[np.abs(d).argmax()], rel=1e-4, abs=1e-6)
            assert row[f"{stage}_delta_signal"] == pytest.approx((np.expm1(a[:, t]) - np.expm1(r[:, t])).sum(),
                                                                 rel=1e-4, abs=1e-4)


def test_variant_panels_and_roc(outdir):
    plots = outdir / "variants" / "plots"
    scores = read_scores_tsv(outdir / "variants" / "scores.tsv")
    top = scores.sort_values("score", ascending=False)["id"].head(PLOT_TOP_N)
    assert sorted(p.name for p in plots.glob("variant_*.png")) == sorted(f"variant_{i}.png" for i in top)
    for name in ["roc_by_stage.png", *[f"variant_{i}.png" for i in top]]:
        width, height = png_size(plots / name)
        assert width > 300 and height > 300, name
        assert (plots / name).with_suffix(".pdf").stat().st_size > 1000, name


# ---------------------------------------------------------------------------
# the model reads the sequence: bars a position prior, a shuffled control or a k-mer model cannot reach
# ---------------------------------------------------------------------------

WINDOW_BARS = {"pearson_window_totals": 0.8, "r2_stage_deviation": 0.5}
SHUFFLED_BAR = 0.1
VARIANT_BARS = {"signed_auc": 0.9, "sign_accuracy": 0.9, "stage_accuracy": 0.7}


def window_figures(outdir: Path) -> dict[tuple[str, str], float]:
    """{(prediction, metric): pooled value} of evaluate/metrics.tsv, target space."""
    metrics = pd.read_csv(outdir / "evaluate" / "metrics.tsv", sep="\t", keep_default_na=False,
                          na_values=["NA", "nan", "NaN"])
    pooled = metrics[(metrics["track"] == "all") & (metrics["space"] == "transformed")]
    return {(p, m): v for p, m, v in pooled[["prediction", "metric", "value"]].itertuples(index=False)}


def test_model_reads_the_sequence_window_bars(outdir):
    """Window totals and R² of stage deviations reach their bars, above the k-mer baseline and the references."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("kmer_baseline", REPO / "benchmarks" / "kmer_baseline.py")
    kmer_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(kmer_module)
    figures = window_figures(outdir)
    kmer = kmer_module.kmer_baseline(outdir / "prepare" / "targets" / "targets.h5", TEST_DATA / "genome.fa")
    print({k: round(v, 3) for k, v in figures.items() if k[1] in WINDOW_BARS}, "k-mer:", kmer)
    for metric, bar in WINDOW_BARS.items():
        model = figures[("rc_average", metric)]
        assert model >= bar, f"{metric} {model:.3f} < {bar}"
        assert model > kmer[metric], f"{metric} {model:.3f} not above the 5-mer ridge baseline {kmer[metric]:.3f}"
        assert figures[("shuffled", metric)] <= SHUFFLED_BAR, f"shuffled {metric} {figures[('shuffled', metric)]}"
    # the no-sequence reference, computed independently: the mean training window for every test window
    with h5py.File(outdir / "prepare" / "targets" / "targets.h5", "r") as h5:
        split = h5["split"].asstr()[...]
        targets = h5["targets"][...].astype(np.float64)
    obs, prior = targets[split == "test"], targets[split == "train"].mean(axis=0)
    dev_o = obs.sum(1) - obs.sum(1).mean(1, keepdims=True)
    dev_p = np.broadcast_to(prior.sum(0) - prior.sum(0).mean(), dev_o.shape)
    from sklearn.metrics import r2_score

    r2 = r2_score(dev_o, dev_p, multioutput="variance_weighted")
    assert figures[("mean_profile", "r2_stage_deviation")] == pytest.approx(r2, abs=1e-4) and r2 <= 0
    assert math.isnan(figures[("mean_profile", "pearson_window_totals")])  # constant totals: undefined
    # a track that is constant within a window has no correlation: left out, as docs/output.md states
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        per_window = np.array([[pearson(prior[:, t], obs[i, :, t]) if np.ptp(obs[i, :, t]) > 0 else np.nan
                                for t in range(obs.shape[2])] for i in range(len(obs))])
        per_window = np.nanmean(per_window[~np.isnan(per_window).all(axis=1)], axis=1)
    assert figures[("mean_profile", "mean_window_pearson")] == pytest.approx(per_window.mean(), abs=1e-4)
    headline = json.loads((outdir / "evaluate" / "metrics.json").read_text())["headline"]
    assert headline["r2_stage_deviation"]["model"] == pytest.approx(figures[("rc_average", "r2_stage_deviation")])


def test_model_reads_the_sequence_variant_bars(outdir):
    """Against the generator's truth: losses where motifs break, of the right sign, at the right stage."""
    scores = read_scores_tsv(outdir / "variants" / "scores.tsv").set_index("id")
    truth = pd.read_csv(TEST_DATA / "variants_truth.tsv", sep="\t", keep_default_na=False).set_index("id")
    stages = stage_order()
    assert (scores.loc[truth.index, "status"] == "ok").all()
    delta = scores.loc[truth.index, [f"{s}_delta_signal" for s in stages]].to_numpy(dtype=float)
    top = np.abs(delta).argmax(axis=1)  # the stage of largest predicted change, recomputed from the columns
    effect = delta[np.arange(len(delta)), top]
    np.testing.assert_allclose(scores.loc[truth.index, "effect"].to_numpy(dtype=float), effect, rtol=1e-5)
    assert list(scores.loc[truth.index, "effect_stage"]) == [stages[i] for i in top]
    group = truth["group"].to_numpy()
    func, flank = group == "functional", group == NEGATIVE_GROUP
    signed_auc = roc_auc_score(np.r_[np.ones(func.sum()), np.zeros(flank.sum())], -np.r_[effect[func], effect[flank]])
    sign_accuracy = float(np.mean(effect[func] < 0))  # every functional variant is a true loss
    staged = func & (truth["true_stage"].to_numpy() != "")
    stage_accuracy = float(np.mean(np.array(stages)[top[staged]] == truth["true_stage"].to_numpy()[staged]))
    true = truth[[f"true_{s}" for s in stages]].to_numpy(dtype=float)
    effect_r = pearson(delta.ravel(), true.ravel())
    found = {"signed_auc": signed_auc, "sign_accuracy": sign_accuracy, "stage_accuracy": stage_accuracy}
    print({**{k: round(v, 3) for k, v in found.items()}, "effect_pearson": round(effect_r, 3)})
    for name, bar in VARIANT_BARS.items():
        assert found[name] >= bar, f"{name} {found[name]:.3f} < {bar}"
    gs = pd.read_csv(outdir / "variants" / "group_stats.tsv", sep="\t", keep_default_na=False,
                     na_values=["NA"]).set_index("metric")
    assert 1 - gs.loc["effect", "auc"] == pytest.approx(signed_auc, abs=1e-6)


def rotated_fasta(path: Path) -> None:
    """The bundled genome with each chromosome rotated by half its length plus half the enhancer spacing: the
    same contigs, lengths and motifs, but every signal window now holds another region's sequence."""
    fa = pyfaidx.Fasta(str(TEST_DATA / "genome.fa"), as_raw=True)
    with open(path, "w") as fh:
        for name in fa.keys():
            seq = fa[name][:]
            k = (len(seq) // 2 + 4000) % len(seq)
            rotated = seq[k:] + seq[:k]
            fh.write(f">{name}\n" + "\n".join(rotated[i:i + 60] for i in range(0, len(rotated), 60)) + "\n")


def test_shuffled_sequence_target_pairing_fails_the_window_bars(tmp_path):
    """The benchmark bites: the same pipeline on a genome whose sequence no longer lines up with the signal misses
    the window bars (a position prior still reaches the original study's per-window Pearson)."""
    rotated = tmp_path / "rotated.fa"
    rotated_fasta(rotated)
    no_variants = tmp_path / "params.yaml"
    no_variants.write_text("variants: ''\n")  # the variants' REF alleles do not match a rotated genome
    proc = run_nextflow(tmp_path / "launch", "--fasta", str(rotated), "-params-file", str(no_variants),
                        timeout=FULL_RUN_TIMEOUT)
    assert proc.returncode == 0, describe(proc, tmp_path / "launch")
    figures = window_figures(tmp_path / "launch" / "results")
    print({k: round(v, 3) for k, v in figures.items() if k[0] == "rc_average"})
    for metric, bar in WINDOW_BARS.items():
        assert figures[("rc_average", metric)] < bar, f"{metric} {figures[('rc_average', metric)]:.3f} with the " \
                                                       "sequence misaligned: the bar does not need the sequence"


# ---------------------------------------------------------------------------
# issue 7: report, --help, -params-file, more bad inputs
# ---------------------------------------------------------------------------

SCHEMA = json.loads((REPO / "nextflow_schema.json").read_text())
REPORT_SECTIONS = ["summary", "inputs", "qc", "training", "evaluation", "variants", "versions"]


def schema_parameters() -> list[str]:
    return [name for group in SCHEMA["$defs"].values() for name in group["properties"]]


def report_dom(html_text: str) -> tuple[list[str], list[tuple[str, str]]]:
    """(section ids, [(alt, src) of every <img>]) of a report, parsed with the standard library."""
    from html.parser import HTMLParser

    class Parser(HTMLParser):
        ids: list[str] = []
        imgs: list[tuple[str, str]] = []

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "section":
                self.ids.append(attrs.get("id"))
            elif tag == "img":
                self.imgs.append((attrs.get("alt", ""), attrs.get("src", "")))

    parser = Parser()
    parser.ids, parser.imgs = [], []
    parser.feed(html_text)
    return parser.ids, parser.imgs


def test_report_embeds_every_published_figure(outdir):
    report = outdir / "report" / "report.html"
    assert report.is_file(), f"no {report}"
    text = report.read_text()
    ids, imgs = report_dom(text)
    assert ids == REPORT_SECTIONS
    published = sorted(p.relative_to(outdir).as_posix() for p in outdir.glob("*/**/*.png")
                       if p.parts[len(outdir.parts)] in ("prepare", "evaluate", "variants", "train"))
    assert published, "the run published no PNG"
    alts = [alt for alt, _ in imgs]
    missing = [p for p in published if p not in alts]
    assert not missing, f"published figures missing from the report: {missing}"
    assert "training curves from train/metrics.csv" in alts
    for alt, src in imgs:
        assert src.startswith("data:image/png;base64,"), f"{alt} is not embedded"
    for sid, nxt in zip(REPORT_SECTIONS, REPORT_SECTIONS[1:], strict=False):
        body = text[text.index(f'<section id="{sid}">'):text.index(f'<section id="{nxt}">')]
        # the QC section fills once data preparation publishes prepare/qc/ figures or tables
        assert sid == "qc" or "not run" not in body, f"section {sid} says 'not run' after a complete run"
    for stage in stage_order():
        assert stage in text
    assert "Nextflow" in text and "torch_cuda" in text


def test_help_prints_every_parameter_and_runs_nothing(tmp_path):
    cmd = [nextflow_bin(), "run", str(MAIN_NF), "--help", "-ansi-log", "false"]
    proc = subprocess.run(cmd, cwd=tmp_path, env=nextflow_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=SHORT_RUN_TIMEOUT, check=False)
    detail = describe(proc, tmp_path)
    assert proc.returncode == 0, detail
    for name in schema_parameters():
        assert re.search(rf"^\s+--{name}\s", proc.stdout, re.MULTILINE), f"--{name} missing from --help\n{detail}"
    assert not task_dirs(tmp_path), detail
    assert not (tmp_path / "null").exists(), "--help wrote a null/ folder"


def test_missing_required_parameters_fail_before_any_task(tmp_path):
    # no -profile test: nothing supplies --input or --fasta
    cmd = [nextflow_bin(), "run", str(MAIN_NF), "-ansi-log", "false", "--outdir", str(tmp_path / "results")]
    proc = subprocess.run(cmd, cwd=tmp_path, env=nextflow_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=SHORT_RUN_TIMEOUT, check=False)
    detail = describe(proc, tmp_path)
    assert proc.returncode != 0, detail
    for name in ("input", "fasta"):
        assert f"missing required parameter --{name}" in proc.stdout, detail
    assert not task_dirs(tmp_path), detail
    for trace in trace_files(tmp_path / "results"):
        assert read_trace(trace).empty, detail


def sheet_unknown_extension(tmp: Path) -> list[str]:
    rows = absolute_rows()
    rows[2]["peaks"] = rows[2]["peaks"] + ".xls"  # data row 3 = line 4 (MACS2 also writes _peaks.xls)
    return ["--input", str(write_sheet(tmp / "sheet.csv", rows))]


def sheet_bad_stage_name(tmp: Path) -> list[str]:
    rows = absolute_rows()
    rows[0]["stage"] = "CS 13/a"
    return ["--input", str(write_sheet(tmp / "sheet.csv", rows))]


def sheet_header_only(tmp: Path) -> list[str]:
    return ["--input", str(write_sheet(tmp / "sheet.csv", []))]


def sheet_empty_file(tmp: Path) -> list[str]:
    (tmp / "sheet.csv").write_text("\n")
    return ["--input", str(tmp / "sheet.csv")]


def params_file_wrong_type(tmp: Path) -> list[str]:
    (tmp / "params.yaml").write_text("max_steps: ten\nbatch_size: 2\n")
    return ["-params-file", str(tmp / "params.yaml")]


MORE_BAD_CASES = {
    "unknown_extension": (sheet_unknown_extension, ["row 4", "column 'peaks'", "unknown extension"]),
    "bad_stage_name": (sheet_bad_stage_name, ["row 2", "column 'stage'", "'CS 13/a'", "only letters, digits"]),
    "header_only": (sheet_header_only, ["has a header but no rows"]),
    "empty_sheet": (sheet_empty_file, ["is empty", "stage,replicate,bigwig,peaks"]),
    "outside_enum": (lambda tmp: ["--loss", "huber"], ["--loss must be one of poisson, mse", "huber"]),
    "params_file_wrong_type": (params_file_wrong_type, ["--max_steps must be an integer", "ten"]),
    "missing_fasta_file": (lambda tmp: ["--fasta", str(tmp / "nope.fa")], ["--fasta: file not found", "nope.fa"]),
}


GROOVY_CASES.update(MORE_BAD_CASES)


@pytest.mark.parametrize("case", list(MORE_BAD_CASES))
def test_more_bad_inputs_fail_before_any_task(tmp_path, case):
    test_bad_input_fails_before_any_task(tmp_path, case)


def test_params_file_partial_stub_run_reports_what_did_not_run(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("max_steps: 7\nlr: 2e-4\nskip_group_comparison: true\n")
    launch = tmp_path / "launch"
    proc = run_nextflow(launch, "-stub", "-params-file", str(params))
    detail = describe(proc, launch)
    assert proc.returncode == 0, detail
    out = launch / "results"
    resolved = json.loads(sorted((out / "pipeline_info").glob("params_*.json"))[-1].read_text())
    assert resolved["max_steps"] == 7 and resolved["skip_group_comparison"] is True, resolved
    assert float(resolved["lr"]) == pytest.approx(2e-4)
    ran = {short_name(p) for p in read_trace(trace_files(out)[-1])["process"]}
    assert "COMPARE_GROUPS" not in ran and "REPORT" in ran, ran
    text = (out / "report" / "report.html").read_text()
    ids, imgs = report_dom(text)
    assert ids == REPORT_SECTIONS
    assert not imgs, "stub outputs are empty: nothing to embed"
    variants = text[text.index('<section id="variants">'):text.index('<section id="versions">')]
    assert "not run" in variants, variants
    training = text[text.index('<section id="training">'):text.index('<section id="evaluation">')]
    assert "empty file" in training, training
def test_training_logs_resume_state_and_resolved_config(outdir):
    """train/: TensorBoard events with the same losses as metrics.csv; last.pt resumable; config.json resolved."""
    import torch
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    train = outdir / "train"
    config = json.loads((train / "config.json").read_text())
    assert config["global_batch"] == config["batch_size"] * config["accumulate"] * config["world_size"]
    assert config["precision"] in ("fp32", "bf16", "fp16") and config["total_steps"] >= 1
    metrics = pd.read_csv(train / "metrics.csv")
    assert metrics["step"].tolist() == list(range(1, config["total_steps"] + 1))
    events = EventAccumulator(str(train / "tensorboard"))
    events.Reload()
    logged = events.Scalars("train/loss")
    assert [e.step for e in logged] == metrics["step"].tolist()
    np.testing.assert_allclose([e.value for e in logged], metrics["train_loss"], rtol=1e-5)
    last = torch.load(train / "last.pt", map_location="cpu", weights_only=False)
    for key in ("optimizer", "scheduler", "scaler", "rng", "epoch", "position", "best_val_loss"):
        assert key in last, f"last.pt lacks {key!r}: it cannot be resumed"
    assert last["step"] == config["total_steps"]


# ---------------------------------------------------------------------------
# variants at scale: calibration, the annotated VCF, score-only runs in shards
# ---------------------------------------------------------------------------


def test_calibration_bars_on_the_bundled_variants(outdir):
    """Functional variants sit at the top of the model's background; `far` variants (true effect 0) are
    spread over it as a random SNV would be (uniform percentiles)."""
    scores = read_scores_tsv(outdir / "variants" / "scores.tsv")
    pct = scores["score_pct"].astype(float)
    functional = pct[scores["group"] == "functional"]
    far = pct[scores["group"] == "far"]
    assert (functional >= 95).mean() >= 0.9, f"functional percentiles:\n{functional.describe()}"
    ks = stats.kstest(far / 100, "uniform")
    assert ks.pvalue > 0.01, f"far percentiles are not uniform (KS p = {ks.pvalue:.3g}):\n{far.describe()}"
    background = sorted((outdir / "train" / "background").glob("background_*.parquet"))
    assert len(background) == 1, "the background is kept beside the published checkpoint"
    bg = pd.read_parquet(background[0])
    assert len(bg) == BACKGROUND_N and (bg["status"] == "ok").all()
    # the p-value by hand, within the variant's distance stratum
    edges = json.loads(background[0].with_suffix(".json").read_text())["distance_edges"]
    row = scores.iloc[0]
    k = np.searchsorted(edges, float(row["distance_to_peak"]), side="right") - 1
    same = bg.loc[bg["stratum"] == k, "score"].to_numpy()
    assert float(row["pvalue"]) == pytest.approx((1 + (same >= float(row["score"])).sum()) / (1 + len(same)))


def test_annotated_vcf_round_trips_through_bcftools_and_pysam(outdir):
    import pysam

    vcf = outdir / "variants" / "scores.vcf.gz"
    assert (outdir / "variants" / "scores.vcf.gz.tbi").is_file()
    view = subprocess.run(["bcftools", "view", "-H", str(vcf)], capture_output=True, text=True, check=False)
    assert view.returncode == 0, view.stderr
    variants = pd.read_csv(TEST_DATA / "variants.tsv", sep="\t", dtype=str, keep_default_na=False)
    body = [line.split("\t") for line in view.stdout.splitlines()]
    assert sorted((f[2], f[0], int(f[1]), f[3], f[4]) for f in body) == sorted(
        zip(variants["id"], variants["chrom"], variants["pos"].astype(int), variants["ref"], variants["alt"],
            strict=True)), "every input ALT allele must appear once, at its input coordinates"
    scores = read_scores_tsv(outdir / "variants" / "scores.tsv").set_index("id")
    with pysam.VariantFile(str(vcf)) as vf:
        model = [str(r) for r in vf.header.records if r.key == "stagevep_model"]
        for rec in vf:
            s = scores.loc[rec.id]
            assert rec.info["SVEP_STATUS"] == (s["status"],)
            for stage in stage_order():
                assert rec.info[f"SVEP_DELTA_{stage}"][0] == pytest.approx(float(s[f"{stage}_delta_signal"]),
                                                                             rel=1e-5, abs=1e-6)
                assert rec.info[f"SVEP_PCT_{stage}"][0] == pytest.approx(float(s[f"{stage}_pct_abs"]), abs=1e-4)
    assert len(model) == 1 and "tracks=" + "|".join(stage_order()) in model[0] and "checkpoint_md5=" in model[0]


def random_table(path: Path, n: int, seed: int = 0) -> Path:
    fa = pyfaidx.Fasta(str(TEST_DATA / "genome.fa"))
    rng = np.random.default_rng(seed)
    names = list(fa.keys())
    rows = []
    while len(rows) < n:
        chrom = names[rng.integers(len(names))]
        pos = int(rng.integers(1, len(fa[chrom]) + 1))
        ref = str(fa[chrom][pos - 1]).upper()
        if ref in "ACGT":
            rows.append((f"r{len(rows):05d}", chrom, pos, ref, str(rng.choice([b for b in "ACGT" if b != ref]))))
    pd.DataFrame(rows, columns=["id", "chrom", "pos", "ref", "alt"]).to_csv(path, sep="\t", index=False)
    return path


@pytest.fixture(scope="module")
def score_only(full_run, tmp_path_factory) -> dict[str, Path]:
    """The test run's best.pt, copied, and 2,000 random SNVs; three score-only runs on them: in shards of 300
    with shard 7 killed on both attempts (fails), the same with -resume, and one shard of 2,000."""
    base = tmp_path_factory.mktemp("score_only")
    model = base / "model"
    model.mkdir()
    shutil.copy(full_run / "results" / "train" / "best.pt", model / "best.pt")
    table = random_table(base / "snvs.tsv", 2000)
    common = ["--checkpoint", str(model / "best.pt"), "--variants", str(table), "--skip_group_comparison", "true"]
    sharded = base / "sharded"
    env = {"STAGEVEP_TEST_KILL_SHARD": "00007", "STAGEVEP_TEST_KILL_ATTEMPTS": "2"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        killed = run_nextflow(sharded, *common, "--variant_shard_size", "300")
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    resumed = run_nextflow(sharded, *common, "--variant_shard_size", "300", "-resume")
    assert resumed.returncode == 0, describe(resumed, sharded)
    whole = base / "whole"
    single = run_nextflow(whole, *common, "--variant_shard_size", "2000")
    assert single.returncode == 0, describe(single, whole)
    return {"base": base, "model": model, "table": table, "sharded": sharded, "whole": whole,
            "killed": killed, "single": single}


def test_killed_shard_fails_alone_and_resume_reruns_only_it(score_only):
    killed, sharded = score_only["killed"], score_only["sharded"]
    assert killed.returncode != 0, describe(killed, sharded)
    first, second = (read_trace(t) for t in trace_files(sharded / "results")[:2])
    shards = first[first["process"].map(short_name) == "SCORE_VARIANTS"]
    dead = shards[shards["tag"].str.endswith(":00007")]
    assert list(dead["exit"]) == ["137", "137"], "shard 7 must be killed on its first attempt and its retry"
    done = set(shards.loc[shards["status"] == "COMPLETED", "tag"])
    again = second[second["process"].map(short_name) == "SCORE_VARIANTS"]
    executed = set(again.loc[again["status"] != "CACHED", "tag"])
    assert "stagevep:00007" in executed
    assert not executed & done, f"completed shards re-ran on -resume: {executed & done}"
    assert len(again) == 7 and (again["status"].isin(["CACHED", "COMPLETED"])).all()


def test_score_only_run_trains_nothing_and_shards_do_not_change_scores(score_only):
    for launch in (score_only["sharded"], score_only["whole"]):
        ran = set()
        for trace in trace_files(launch / "results"):
            ran |= set(read_trace(trace)["process"].map(short_name))
        assert not ran & {"PREFLIGHT", "AVERAGE_BIGWIGS", "UNION_PEAKS", "MAKE_WINDOWS", "MAKE_TARGETS",
                          "PREPARE_QC", "TRAIN_MODEL", "EVALUATE_MODEL"}, ran
        assert {"PREPARE_VARIANTS", "SCORE_VARIANTS", "MERGE_SCORES", "REPORT"} <= ran, ran
    sharded = pd.read_parquet(score_only["sharded"] / "results" / "variants" / "scores.parquet")
    whole = pd.read_parquet(score_only["whole"] / "results" / "variants" / "scores.parquet")
    table = pd.read_csv(score_only["table"], sep="\t")
    assert sharded["id"].tolist() == table["id"].tolist(), "every variant once, in input order"
    pd.testing.assert_frame_equal(sharded, whole, check_exact=True)
    # the background was scored once, beside the checkpoint, and the second run found it there
    stored = list((score_only["model"] / "background").glob("background_*.parquet"))
    assert len(stored) == 1
    whole_ran = set(read_trace(trace_files(score_only["whole"] / "results")[-1])["process"].map(short_name))
    assert "SCORE_BACKGROUND" not in whole_ran
    report = (score_only["whole"] / "results" / "report" / "report.html").read_text()
    variants = report[report.index('<section id="variants">'):report.index('<section id="versions">')]
    assert "top_variants.tsv: top variants" in variants


SCORE_ONLY_BAD = {
    "shard_size_zero": (lambda tmp, model: ["--variant_shard_size", "0"], ["variant_shard_size must be >= 1"], False),
    "not_a_checkpoint": (lambda tmp, model: ["--checkpoint", str(_text_file(tmp / "model.pt"))],
                         ["is not a stagevep checkpoint", "model.pt"], True),
    "contigs_absent": (lambda tmp, model: ["--variants", str(_renamed_contigs(tmp / "v.tsv"))],
                       ["shares no contig name with the FASTA"], True),
}


def _text_file(path: Path) -> Path:
    import torch

    torch.save({"weights": torch.zeros(2)}, path)
    return path


def _renamed_contigs(path: Path) -> Path:
    table = pd.read_csv(TEST_DATA / "variants.tsv", sep="\t")
    table["chrom"] = "scaffold_" + table["chrom"]
    table.to_csv(path, sep="\t", index=False)
    return path


@pytest.mark.parametrize("case", list(SCORE_ONLY_BAD))
def test_score_only_bad_input_fails_before_any_scoring_task(score_only, tmp_path, case):
    make_args, needles, runs_preflight = SCORE_ONLY_BAD[case]
    common = ["--checkpoint", str(score_only["model"] / "best.pt"), "--variants", str(score_only["table"])]
    launch = tmp_path / "launch"
    proc = run_nextflow(launch, *common, *make_args(tmp_path, score_only["model"]))
    detail = describe(proc, launch)
    assert proc.returncode != 0, detail
    for needle in needles:
        assert needle in proc.stdout, f"{needle!r} not in the output\n{detail}"
    ran = set()
    for trace in trace_files(launch / "results"):
        ran |= set(read_trace(trace)["process"].map(short_name))
    assert ran == ({"PREPARE_VARIANTS"} if runs_preflight else set()), f"{ran}\n{detail}"


def test_attribution_finds_the_broken_motif_copy(outdir):
    """On the trained model, for the functional variants: the position of largest |ISM| within +-20 bp, and of
    largest gradient x input, lies inside the motif copy the variant breaks (the generator's truth). Chance (a
    random position of the 41) is 12/41 = 0.29."""
    from stagevep.io.genome import open_fasta
    from stagevep.model.checkpoint import checkpoint_geometry, load_checkpoint
    from stagevep.variants.attribution import attribute_variant

    model, ckpt = load_checkpoint(outdir / "train" / "best.pt")
    geometry = checkpoint_geometry(ckpt)
    fa = open_fasta(TEST_DATA / "genome.fa")
    truth = pd.read_csv(TEST_DATA / "variants_truth.tsv", sep="\t")
    sites = pd.read_csv(TEST_DATA / "enhancers.tsv", sep="\t").set_index("name")["motif_sites"]
    functional = truth[truth["group"] == "functional"]
    flank, hits_ism, hits_grad = 20, 0, 0
    for v in functional.itertuples(index=False):
        starts = [int(s[:-1]) for s in sites[v.enhancer].split(",")]
        (lo,) = [s for s in starts if s <= v.pos - 1 < s + 12]  # 0-based start of the broken 12-bp copy
        result = attribute_variant(model, geometry, fa, v.chrom, int(v.pos), v.alt, flank, 8, 16)
        genome = np.arange(v.pos - 1 - flank, v.pos + flank)
        ism_peak = genome[np.abs(result["ism"]).max(axis=(1, 2)).argmax()]
        grad_peak = genome[np.abs(result["grad_ref"]).sum(axis=1).max(axis=1).argmax()]
        hits_ism += lo <= ism_peak < lo + 12
        hits_grad += lo <= grad_peak < lo + 12
    n = len(functional)
    assert hits_ism / n >= 0.9, f"ISM peak inside the broken copy for {hits_ism}/{n} (chance 0.29)"
    assert hits_grad / n >= 0.8, f"gradient x input peak inside the broken copy for {hits_grad}/{n} (chance 0.29)"
    # the pipeline's own attribution of the top variants, in its documented layout
    files = sorted((outdir / "variants" / "attribution").glob("*.h5"))
    assert len(files) == 2, files
    top = read_scores_tsv(outdir / "variants" / "scores.tsv").sort_values("score", ascending=False)["id"].head(2)
    assert sorted(f.stem for f in files) == sorted(top)
    with h5py.File(files[0]) as h5:
        assert h5["ism"].shape == (2 * 20 + 1, 4, len(stage_order()))
    assert all(f.with_suffix(".png").is_file() for f in files)


def test_deleting_a_motif_copy_scores_as_a_loss(outdir):
    """Each planted copy of the test chromosomes deleted (12 bp, with its anchor base): the trained model calls
    it a loss at the stage of largest change (default --indel_alignment shift)."""
    from stagevep.io.genome import open_fasta
    from stagevep.model.checkpoint import checkpoint_geometry, load_checkpoint
    from stagevep.variants.score import score_with_model

    model, ckpt = load_checkpoint(outdir / "train" / "best.pt")
    geometry, tracks = checkpoint_geometry(ckpt), list(ckpt["tracks"])
    fa = open_fasta(TEST_DATA / "genome.fa")
    enh = pd.read_csv(TEST_DATA / "enhancers.tsv", sep="\t")
    rows = []
    for e in enh[enh["chrom"].isin(TEST_CHROMS)].itertuples(index=False):
        for k, site in enumerate(e.motif_sites.split(",")):
            start = int(site[:-1])  # 0-based first base of the copy; the anchor is the base before it
            ref = str(fa[e.chrom][start - 1:start + 12]).upper()
            rows.append((f"{e.name}_{k}", e.chrom, start, ref, ref[0], ""))
    table = pd.DataFrame(rows, columns=["id", "chrom", "pos", "ref", "alt", "group"])
    scores = score_with_model(model, geometry, tracks, fa, table, central_bins=8, batch_size=8)
    assert (scores["status"] == "ok").all()
    losses = (scores["effect"] < 0).mean()
    assert losses >= 0.9, f"only {losses:.2f} of {len(scores)} motif-copy deletions score as losses"


def test_discover_motifs_recovers_every_planted_kind(outdir, tmp_path):
    """Motif discovery on the trained model's test windows finds each planted motif kind (TOMTOM q < 0.05
    against the planted sites, written as a MEME file here) and ranks the constant one least stage-specific."""
    from stagevep.evaluate.motifs import discover_motifs_file, write_meme
    from stagevep.synthetic.config import DEFAULT_MOTIFS

    def ppm(site: str) -> np.ndarray:
        m = np.full((4, len(site)), 0.01)
        for i, base in enumerate(site):
            m["ACGT".index(base), i] = 0.97
        return m

    planted = tmp_path / "planted.meme"
    write_meme(planted, {m.name: ppm(m.site) for m in DEFAULT_MOTIFS})
    table = discover_motifs_file(outdir / "train" / "best.pt", TEST_DATA / "genome.fa", tmp_path / "motifs",
                                 database=planted)
    hits = table[table["match_qvalue"] < 0.05]
    best = hits.sort_values("match_qvalue").drop_duplicates("best_match").set_index("best_match")
    assert set(best.index) == {m.name for m in DEFAULT_MOTIFS}, table.to_string()
    spec = best["stage_specificity"]
    assert spec["constant"] < spec.drop("constant").min(), spec.to_string()
    assert (tmp_path / "motifs" / "stage_contributions.png").stat().st_size > 10_000
    assert best.loc["early", "top_stage"] == "CS13" and best.loc["late", "top_stage"] == "CS20", best.to_string()
