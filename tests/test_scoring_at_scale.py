"""Scoring at scale: preflight and shards, shard-size independence, merge, calibration, annotated VCF."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest
import torch
from scipy import stats

from conftest import mixing_model
from stagevep.errors import InputError
from stagevep.geometry import Geometry
from stagevep.io.genome import fasta_lengths, open_fasta
from stagevep.model.checkpoint import save_checkpoint
from stagevep.model.sizes import model_config
from stagevep.variants.calibrate import (
    calibrate,
    distance_edges,
    draw_background,
    empirical_pvalue,
    midrank_percentile,
    peak_distance,
    pooled_strata,
    stratum_of,
)
from stagevep.variants.merge import merge_scores_files, top_variants
from stagevep.variants.score import score_with_model
from stagevep.variants.score_file import score_variant_file
from stagevep.variants.shards import check_scoring_inputs, merge_shards, prepare_variants

REPO = Path(__file__).resolve().parents[1]
GEOM = Geometry(n_bins=16, bin_size=128, context_length=4096)
STAGES = ["CS13", "CS14", "CS15", "CS17", "CS20"]


def windows_of(test_data: Path) -> pd.DataFrame:
    enh = pd.read_csv(test_data / "enhancers.tsv", sep="\t")
    return pd.DataFrame({"chrom": enh["chrom"], "centre": enh["centre"], "split": "test"})


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, test_data) -> Path:
    """A random-weight tiny model (every weight random: effects well above rounding) that records its genome
    and windows, as train.py's checkpoints do."""
    path = tmp_path_factory.mktemp("ckpt") / "best.pt"
    model = mixing_model(GEOM, len(STAGES))
    w = windows_of(test_data)
    save_checkpoint(path, model, {
        "model_config": model_config("tiny", GEOM), "tracks": STAGES, "geometry": GEOM.to_dict(),
        "target_transform": {"transform": "log1p"},
        "genome": {"fasta": "genome.fa", "contigs": fasta_lengths(test_data / "genome.fa")},
        "windows": {k: w[k].tolist() for k in ("chrom", "centre", "split")}})
    return path


def random_snvs(fa, n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    names = list(fa.keys())
    rows = []
    while len(rows) < n:
        chrom = names[rng.integers(len(names))]
        pos = int(rng.integers(1, len(fa[chrom]) + 1))
        ref = str(fa[chrom][pos - 1]).upper()
        if ref in "ACGT":
            rows.append((f"v{len(rows)}", chrom, pos, ref, str(rng.choice([b for b in "ACGT" if b != ref])), ""))
    return pd.DataFrame(rows, columns=["id", "chrom", "pos", "ref", "alt", "group"])


# ---------------------------------------------------------------------------
# shards
# ---------------------------------------------------------------------------


def test_scores_do_not_depend_on_how_the_table_is_cut(checkpoint, test_data):
    """Scoring a table whole or in pieces of 37 (not a multiple of the batch) gives bitwise the same numbers."""
    from stagevep.model.checkpoint import load_checkpoint

    model, _ = load_checkpoint(checkpoint)
    fa = open_fasta(test_data / "genome.fa")
    table = random_snvs(fa, 120, seed=3)
    whole = score_with_model(model, GEOM, STAGES, fa, table, central_bins=4, batch_size=8)
    pieces = pd.concat([score_with_model(model, GEOM, STAGES, fa, table.iloc[i:i + 37].reset_index(drop=True),
                                         central_bins=4, batch_size=8) for i in range(0, len(table), 37)],
                       ignore_index=True)
    numeric = [c for c in whole.columns if whole[c].dtype.kind == "f"]
    assert np.nanmax(whole["score"]) > 1e-4, "effects at rounding level would make the comparison vacuous"
    np.testing.assert_array_equal(whole[numeric].to_numpy(), pieces[numeric].to_numpy())


def test_prepare_variants_writes_shards_in_input_order(tmp_path, checkpoint, test_data):
    paths = prepare_variants(checkpoint, test_data / "genome.fa", test_data / "variants.tsv", tmp_path, shard_size=50)
    source = pd.read_csv(test_data / "variants.tsv", sep="\t")
    assert [p.name for p in paths] == ["shard_00001.tsv", "shard_00002.tsv", "shard_00003.tsv"]
    joined = pd.concat([pd.read_csv(p, sep="\t", dtype={"group": str}) for p in paths], ignore_index=True)
    assert [len(pd.read_csv(p, sep="\t")) for p in paths] == [50, 50, 44]
    assert joined["id"].tolist() == source["id"].tolist()
    assert joined["pos"].tolist() == source["pos"].tolist()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["n_variants"] == len(source) and manifest["shard_size"] == 50


@pytest.mark.parametrize("size", [0, -3])
def test_shard_size_must_be_positive(tmp_path, checkpoint, test_data, size):
    with pytest.raises(InputError, match="--variant_shard_size must be at least 1"):
        prepare_variants(checkpoint, test_data / "genome.fa", test_data / "variants.tsv", tmp_path, shard_size=size)
    assert not list(tmp_path.iterdir())


def test_not_a_stagevep_checkpoint_is_refused(tmp_path, test_data):
    bad = tmp_path / "model.pt"
    torch.save({"weights": torch.zeros(3)}, bad)
    with pytest.raises(InputError, match=r"model.pt is not a stagevep checkpoint: it lacks"):
        check_scoring_inputs(bad, test_data / "genome.fa")
    text = tmp_path / "notes.pt"
    text.write_text("not a model\n")
    with pytest.raises(InputError, match="cannot read checkpoint .*notes.pt"):
        check_scoring_inputs(text, test_data / "genome.fa")


def test_checkpoint_from_another_genome_build_names_the_contig(tmp_path, checkpoint, test_data):
    """A FASTA whose chr2 is shorter than the checkpoint's genome fails, naming chr2."""
    fa = open_fasta(test_data / "genome.fa")
    other = tmp_path / "other.fa"
    with open(other, "w") as fh:
        for name in fa.keys():
            seq = str(fa[name])
            fh.write(f">{name}\n{seq[:-1000] if name == 'chr2' else seq}\n")
    with pytest.raises(InputError, match=r"contig chr2 is \d+ bp in checkpoint .* but \d+ bp in the FASTA"):
        check_scoring_inputs(checkpoint, other)


def test_variants_on_contigs_the_checkpoint_lacks_are_refused(tmp_path, checkpoint, test_data):
    table = pd.read_csv(test_data / "variants.tsv", sep="\t")
    table["chrom"] = table["chrom"].str.replace("chr", "", regex=False)
    renamed = tmp_path / "ensembl.tsv"
    table.to_csv(renamed, sep="\t", index=False)
    with pytest.raises(InputError, match="differ by the 'chr' prefix"):
        prepare_variants(checkpoint, test_data / "genome.fa", renamed, tmp_path / "out")
    table["chrom"] = "scaffold_" + table["chrom"]
    table.to_csv(renamed, sep="\t", index=False)
    with pytest.raises(InputError, match="shares no contig name with the FASTA"):
        prepare_variants(checkpoint, test_data / "genome.fa", renamed, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_merge_needs_every_shard_once(tmp_path, checkpoint, test_data):
    paths = prepare_variants(checkpoint, test_data / "genome.fa", test_data / "variants.tsv", tmp_path, shard_size=60)
    parts = []
    for k, p in enumerate(paths, start=1):
        part = pd.read_csv(p, sep="\t", dtype=str, keep_default_na=False)
        part.to_parquet(tmp_path / f"scores_{k:05d}.parquet")
        parts.append(tmp_path / f"scores_{k:05d}.parquet")
    merged = merge_shards(parts[::-1], tmp_path / "manifest.json")  # order given does not matter
    assert merged["id"].tolist() == pd.read_csv(test_data / "variants.tsv", sep="\t")["id"].tolist()
    with pytest.raises(InputError, match="expected the scores of shards 1-3"):
        merge_shards(parts[:2], tmp_path / "manifest.json")


# ---------------------------------------------------------------------------
# calibration
# ---------------------------------------------------------------------------


def test_percentile_and_pvalue_match_scipy_and_brute_force():
    rng = np.random.default_rng(0)
    background = np.round(rng.normal(size=300), 1)  # ties on purpose
    values = np.concatenate([np.round(rng.normal(size=50), 1), [np.nan, 10.0, -10.0]])
    pct = midrank_percentile(values, background)
    for x, p in zip(values, pct, strict=True):
        if np.isnan(x):
            assert np.isnan(p)
        else:
            assert p == pytest.approx(stats.percentileofscore(background, x, kind="mean"))
    pv = empirical_pvalue(values, background)
    brute = [(1 + (background >= x).sum()) / (1 + len(background)) if not np.isnan(x) else np.nan for x in values]
    np.testing.assert_allclose(pv, brute)
    assert pv[-2] == pytest.approx(1 / 301)


def test_peak_distance_is_brute_force_nearest_centre(test_data):
    w = windows_of(test_data)
    rng = np.random.default_rng(1)
    chroms = rng.choice(w["chrom"].unique().tolist() + ["chrUn"], size=200)
    pos = rng.integers(1, 300_000, size=200)
    d = peak_distance(w, chroms, pos)
    for c, p, got in zip(chroms, pos, d, strict=True):
        centres = w.loc[w["chrom"] == c, "centre"].to_numpy()
        assert got == (np.abs(centres - (p - 1)).min() if len(centres) else np.inf)


def test_background_is_reproducible_stratified_and_reads_the_genome(test_data):
    fa = open_fasta(test_data / "genome.fa")
    w = windows_of(test_data)
    edges = distance_edges(GEOM)
    assert edges.tolist() == [0, 128, 256, 512, 1024, 2048]
    bg = draw_background(fa, w, 600, GEOM, seed=5)
    again = draw_background(fa, w, 600, GEOM, seed=5)
    pd.testing.assert_frame_equal(bg, again)
    assert not bg.equals(draw_background(fa, w, 600, GEOM, seed=6))
    assert bg["stratum"].value_counts().sort_index().tolist() == [100] * 6
    assert (stratum_of(peak_distance(w, bg["chrom"].to_numpy(), bg["pos"].to_numpy()), edges) == bg["stratum"]).all()
    for r in bg.itertuples():
        assert str(fa[r.chrom][r.pos - 1]).upper() == r.ref and r.alt != r.ref and r.alt in "ACGT"


def test_small_strata_are_pooled_with_a_neighbour():
    assert pooled_strata(np.array([100, 100, 100])).tolist() == [0, 1, 2]
    assert pooled_strata(np.array([10, 60, 100])).tolist() == [0, 0, 2]
    assert pooled_strata(np.array([100, 100, 10])).tolist() == [0, 1, 1]
    assert pooled_strata(np.array([5, 5, 5])).tolist() == [0, 0, 0]


def test_calibrate_places_each_variant_in_its_own_stratum(test_data):
    w = windows_of(test_data)
    rng = np.random.default_rng(2)
    edges = distance_edges(GEOM)
    c0 = w.iloc[0]
    # background: stratum 0 scores ~1, every farther stratum ~0.01
    rows = []
    for k, lo in enumerate(edges):
        for j in range(80):
            rows.append({"chrom": c0.chrom, "pos": int(c0.centre) + 1 + int(lo) + j % 16, "stratum": k,
                         "score": (1.0 if k == 0 else 0.01) * rng.uniform(0.5, 1.5)})
    bg = pd.DataFrame(rows)
    for t in STAGES:
        bg[f"{t}_delta_signal"] = -bg["score"]
        bg[f"{t}_abs_log2fc"] = bg["score"]
    variants = pd.DataFrame({"chrom": [c0.chrom] * 2, "pos": [int(c0.centre) + 1, int(c0.centre) + 1 + 1500],
                             "score": [0.3, 0.3], "status": "ok"})
    for t in STAGES:
        variants[f"{t}_delta_signal"] = -variants["score"]
        variants[f"{t}_abs_log2fc"] = variants["score"]
    out = calibrate(variants, bg, w, STAGES, GEOM)
    near, far = out.iloc[0], out.iloc[1]
    assert near["score_pct"] == 0.0 and far["score_pct"] == 100.0  # the same score, judged in its own stratum
    assert near["pvalue"] == 1.0 and far["pvalue"] == pytest.approx(1 / 81)
    assert far["CS13_pct_signed"] == 0.0 and far["CS13_pct_abs"] == 100.0
    assert far["qvalue"] == pytest.approx(stats.false_discovery_control([1.0, 1 / 81])[1])


# ---------------------------------------------------------------------------
# merge + VCF
# ---------------------------------------------------------------------------


def write_vcf(path: Path, lines: list[str]) -> Path:
    header = ["##fileformat=VCFv4.2", "##contig=<ID=chr2>", "##contig=<ID=chr10>",
              '##INFO=<ID=DP,Number=1,Type=Integer,Description="depth">',
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    path.write_text("\n".join(header + lines) + "\n")
    return path


def score_in_shards(tmp: Path, checkpoint: Path, fasta: Path, variants: Path, shard_size: int, background=None):
    shards = prepare_variants(checkpoint, fasta, variants, tmp / "shards", shard_size=shard_size)
    scores, tracks = [], []
    for k, shard in enumerate(shards, start=1):
        score_variant_file(checkpoint, fasta, shard, tmp / f"scores_{k:05d}.tsv", central_bins=4,
                           save_tracks=tmp / f"tracks_{k:05d}.h5", track_top_n=3, shard=True)
        scores.append(tmp / f"scores_{k:05d}.parquet")
        tracks.append(tmp / f"tracks_{k:05d}.h5")
    return merge_scores_files(scores, tmp / "shards" / "manifest.json", checkpoint, variants, tmp / "variants",
                              central_bins=4, background=background, shard_tracks=tracks, track_top_n=3)


def test_annotated_vcf_keeps_records_and_reads_back(tmp_path, checkpoint, test_data):
    fa = open_fasta(test_data / "genome.fa")
    base = lambda c, p: str(fa[c][p - 1]).upper()  # noqa: E731
    other = lambda b: "A" if b != "A" else "C"  # noqa: E731
    lines = [f"chr2\t3290\trsA\t{base('chr2', 3290)}\t{other(base('chr2', 3290))},G\t50\tPASS\tDP=7",
             f"chr2\t3300\t.\t{base('chr2', 3300)}\t<DEL>\t.\t.\t.",
             f"chr10\t5000\trsB\t{base('chr10', 5000)}\t{other(base('chr10', 5000))}\t.\tPASS\tDP=3",
             "chr10\t6000\trsC\tAC\tA\t.\t.\t."]
    vcf = write_vcf(tmp_path / "in.vcf", lines)
    scores = score_in_shards(tmp_path, checkpoint, test_data / "genome.fa", vcf, shard_size=2)
    out = tmp_path / "variants" / "scores.vcf.gz"
    assert (tmp_path / "variants" / "scores.vcf.gz.tbi").is_file()
    with pysam.VariantFile(str(out)) as vf:
        records = list(vf)
        assert "SVEP_DELTA_CS13" in vf.header.info and vf.header.info["SVEP_LFC_CS20"].number == "A"
        meta = [str(r) for r in vf.header.records if r.key == "stagevep_model"]
    assert [(r.chrom, r.pos, r.id, r.alts) for r in records] == [
        ("chr2", 3290, "rsA", (other(base("chr2", 3290)), "G")), ("chr2", 3300, None, ("<DEL>",)),
        ("chr10", 5000, "rsB", (other(base("chr10", 5000)),)), ("chr10", 6000, "rsC", ("A",))]
    assert records[0].info["DP"] == 7 and records[0].qual == 50
    assert records[0].info["SVEP_STATUS"] == ("ok", "ok" if base("chr2", 3290) != "G" else "unsupported_allele")
    assert records[1].info["SVEP_STATUS"] == ("unsupported_allele",) and records[1].info["SVEP_SCORE"] == (None,)
    np.testing.assert_allclose(records[0].info["SVEP_DELTA_CS15"], scores["CS15_delta_signal"].iloc[:2], rtol=1e-5)
    assert f"checkpoint_md5={__import__('hashlib').md5(checkpoint.read_bytes()).hexdigest()}" in meta[0]
    if shutil.which("bcftools"):
        view = subprocess.run(["bcftools", "view", "-H", str(out)], capture_output=True, text=True, check=True)
        assert len(view.stdout.splitlines()) == 4
        query = subprocess.run(["bcftools", "query", "-f", "%ID\\t%INFO/SVEP_STATUS\\n", "-r", "chr10", str(out)],
                               capture_output=True, text=True, check=True)
        rs_c = "ok" if str(fa["chr10"][5999:6001]).upper() == "AC" else "ref_mismatch"
        assert query.stdout.splitlines() == ["rsB\tok", f"rsC\t{rs_c}"]


def test_unsorted_table_gives_a_sorted_indexed_vcf(tmp_path, checkpoint, test_data):
    table = pd.read_csv(test_data / "variants.tsv", sep="\t").iloc[::-1].head(30)
    path = tmp_path / "reversed.tsv"
    table.to_csv(path, sep="\t", index=False)
    score_in_shards(tmp_path, checkpoint, test_data / "genome.fa", path, shard_size=7)
    with pysam.VariantFile(str(tmp_path / "variants" / "scores.vcf.gz")) as vf:
        records = list(vf)
    assert sorted(r.id for r in records) == sorted(table["id"])
    keys = [(r.chrom, r.pos) for r in records]
    order = list(dict.fromkeys(table["chrom"]))
    assert keys == sorted(keys, key=lambda k: (order.index(k[0]), k[1]))


def test_shard_runs_equal_one_run_and_tracks_follow_the_global_top(tmp_path, checkpoint, test_data):
    one = score_in_shards(tmp_path / "one", checkpoint, test_data / "genome.fa", test_data / "variants.tsv", 1000)
    many = score_in_shards(tmp_path / "many", checkpoint, test_data / "genome.fa", test_data / "variants.tsv", 17)
    pd.testing.assert_frame_equal(one, many)
    import h5py

    with h5py.File(tmp_path / "many" / "variants" / "tracks.h5") as a, \
            h5py.File(tmp_path / "one" / "variants" / "tracks.h5") as b:
        assert a["id"].asstr()[:].tolist() == b["id"].asstr()[:].tolist()
        np.testing.assert_array_equal(a["ref"][:], b["ref"][:])
    top = top_variants(many, STAGES)
    assert top["id"].tolist() == many.sort_values("score", ascending=False)["id"].head(20).tolist()


def test_bin_scripts_chain_from_shards_to_calibrated_vcf(tmp_path, checkpoint, test_data):
    """The four bin/ scripts as the pipeline calls them; calibration columns appear; a background scored with
    other settings is refused."""
    env_python = sys.executable
    fasta = test_data / "genome.fa"

    def run(*args):
        return subprocess.run([env_python, *map(str, args)], capture_output=True, text=True, cwd=tmp_path)

    r = run(REPO / "bin" / "prepare_variants.py", "--checkpoint", checkpoint, "--fasta", fasta, "--variants",
            test_data / "variants.tsv", "--out-dir", "shards", "--shard-size", "100")
    assert r.returncode == 0, r.stderr
    for k in (1, 2):
        r = run(REPO / "bin" / "score_variants.py", "--checkpoint", checkpoint, "--fasta", fasta, "--variants",
                f"shards/shard_{k:05d}.tsv", "--shard", "--central-bins", "4", "--out", f"scores_{k:05d}.tsv")
        assert r.returncode == 0, r.stderr
    r = run(REPO / "bin" / "score_background.py", "--checkpoint", checkpoint, "--fasta", fasta, "--out",
            "bg/background.parquet", "--n", "300", "--central-bins", "4")
    assert r.returncode == 0, r.stderr
    merge = [REPO / "bin" / "merge_scores.py", "--scores", "scores_00001.parquet", "scores_00002.parquet",
             "--manifest", "shards/manifest.json", "--checkpoint", checkpoint, "--variants",
             test_data / "variants.tsv", "--out-dir", "variants", "--background", "bg/background.parquet"]
    r = run(*merge, "--central-bins", "4")
    assert r.returncode == 0, r.stderr
    scores = pd.read_csv(tmp_path / "variants" / "scores.tsv", sep="\t")
    for col in ("score_pct", "pvalue", "qvalue", "distance_to_peak", "CS13_pct_signed", "CS20_pct_abs"):
        assert scores[col].notna().all(), col
    assert scores["pvalue"].between(1 / 301, 1).all()
    r = run(*merge[:-3], "variants2", "--background", "bg/background.parquet", "--central-bins", "6")
    assert r.returncode == 2 and "other settings" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "variants2" / "scores.tsv").exists()
