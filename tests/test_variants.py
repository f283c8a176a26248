"""Variant tables, statuses, sequences and scores."""

import gzip
import logging
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from conftest import mixing_model
from stagevep.core.sequence import one_hot
from stagevep.errors import InputError
from stagevep.geometry import Geometry, default_central_bins
from stagevep.io.genome import open_fasta
from stagevep.io.variant_status import allele_status
from stagevep.io.variants import read_variants
from stagevep.model.checkpoint import load_checkpoint, save_checkpoint
from stagevep.model.sizes import model_config
from stagevep.variants.keeper import TrackKeeper
from stagevep.variants.score import score_with_model
from stagevep.variants.score_file import score_variant_file
from stagevep.variants.sequences import variant_sequences
from stagevep.variants.summary import central_slice, effect_summary, variant_scores

GEOM = Geometry(n_bins=16, bin_size=128, context_length=4096)
VCF_HEADER = ("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=400000>\n"
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")


def test_read_tsv_ids_and_groups(tmp_path):
    tsv = tmp_path / "v.tsv"
    tsv.write_text("chrom\tpos\tref\talt\tid\tgroup\nchr1\t10\ta\tg\t\tfunctional\nchr1\t20\tC\tT\trs1\t\n")
    groups = tmp_path / "g.tsv"
    groups.write_text("id\tgroup\nrs1\tnonfunctional\n")
    v = read_variants(tsv, groups)
    assert v["id"].tolist() == ["chr1:10:A:G", "rs1"]
    assert v["group"].tolist() == ["", "nonfunctional"]  # --groups replaces the table's groups
    assert v["ref"].tolist() == ["A", "C"]


@pytest.mark.parametrize("compress", [False, True])
def test_read_vcf_splits_multiallelic(tmp_path, compress):
    text = (VCF_HEADER + "chr1\t100\trs5\tA\tC,g,*,<DEL>\t.\t.\t.\n" + "chr1\t200\t.\tt\ta\t.\t.\t.\n"
            + "chr1\t300\trs7\tC\t.\t.\t.\t.\n")
    vcf = tmp_path / ("v.vcf.gz" if compress else "v.vcf")
    vcf.write_bytes(gzip.compress(text.encode()) if compress else text.encode())
    v = read_variants(vcf)
    assert v[["id", "pos", "ref", "alt"]].values.tolist() == [
        ["rs5:C", 100, "A", "C"], ["rs5:G", 100, "A", "G"], ["rs5:*", 100, "A", "*"],
        ["rs5:<DEL>", 100, "A", "<DEL>"], ["chr1:200:T:A", 200, "T", "A"], ["rs7", 300, "C", "."]]


def test_vcf_without_header_is_an_input_error(tmp_path):
    vcf = tmp_path / "noheader.vcf"
    vcf.write_text("chr1\t100\trs1\tA\tC\t.\t.\t.\n")
    with pytest.raises(InputError, match=r"noheader.vcf has no header: .*#CHROM"):
        read_variants(vcf)


def test_duplicate_ids_are_made_unique_with_a_warning(tmp_path, caplog):
    tsv = tmp_path / "v.tsv"
    tsv.write_text("id\tchrom\tpos\tref\talt\nrs1\tchr1\t10\tA\tG\nrs1\tchr1\t10\tA\tG\nrs1\tchr1\t10\tA\tT\n"
                   "rs2\tchr1\t20\tC\tT\n")
    with caplog.at_level(logging.WARNING):
        v = read_variants(tsv)
    assert v["id"].tolist() == ["rs1", "rs1#2", "rs1#3", "rs2"]
    assert "rs1" in caplog.text and "more than once" in caplog.text


def test_bad_tables(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("chrom\tposition\tref\talt\nchr1\t1\tA\tC\n")
    with pytest.raises(InputError, match=r"lacks column\(s\) \['pos'\]"):
        read_variants(bad)
    bad.write_text("chrom\tpos\tref\talt\nchr1\t1.5\tA\tC\n")
    with pytest.raises(InputError, match="row 2: pos must be a positive 1-based integer"):
        read_variants(bad)


@pytest.mark.parametrize(
    ("ref", "alt", "status"),
    [("A", "G", "ok"), ("A", "AT", "ok"), ("AC", "A", "ok"), ("AC", "GT", "ok"), ("A", "A" + "C" * 50, "ok"),
     ("A", "A" + "C" * 51, "indel_too_long"), ("A" + "C" * 51, "A", "indel_too_long"),
     ("A", "<DEL>", "unsupported_allele"), ("A", "*", "unsupported_allele"), ("A", ".", "unsupported_allele"),
     ("A", "N", "unsupported_allele"), ("A", "A", "unsupported_allele"), ("A", "", "unsupported_allele")],
)
def test_allele_status(ref, alt, status):
    assert allele_status(ref, alt) == status


def test_sequences_centre_and_padding(test_data):
    fa = open_fasta(test_data / "genome.fa")
    v = pd.read_csv(test_data / "variants.tsv", sep="\t").iloc[0]
    ref, alt = variant_sequences(fa, v.chrom, int(v.pos), v.alt, 4096)
    assert len(ref) == len(alt) == 4096
    assert ref[2048] == v.ref == str(fa[v.chrom][int(v.pos) - 1])
    assert alt[2048] == v.alt
    assert [i for i in range(4096) if ref[i] != alt[i]] == [2048]
    assert ref[2048 - 10 : 2048] == str(fa[v.chrom][int(v.pos) - 11 : int(v.pos) - 1])
    ref_edge, _ = variant_sequences(fa, "chr2", 5, "A", 4096)  # 1-based pos 5 near the start: N-padded
    assert ref_edge[: 2048 - 4] == "N" * (2048 - 4) and ref_edge[2048 - 4] != "N"
    n = len(fa["chrY"])  # last base of the contig: everything right of the centre is padding
    ref_end, _ = variant_sequences(fa, "chrY", n, "A", 4096)
    assert ref_end[2048] == str(fa["chrY"][n - 1]) and ref_end[2049:] == "N" * 2047


def test_central_slice_is_seed_convention():
    assert central_slice(896, 96) == slice(400, 496)
    with pytest.raises(InputError, match="--central-bins"):
        central_slice(64, 96)


def test_variant_scores_by_hand():
    rng = np.random.default_rng(0)
    ref = rng.uniform(0.1, 2, size=(3, 16, 2))
    alt = ref.copy()
    alt[1, 8, 0] += 0.5
    alt[2, 7, 1] -= 0.05
    s = variant_scores(ref, alt, central_bins=4, pseudocount=1e-3)
    sl = slice(6, 10)
    assert np.allclose(s["delta_sum"], (alt - ref)[:, sl].sum(axis=1))
    expected = np.abs(np.log2((alt[:, sl] + 1e-3) / (ref[:, sl] + 1e-3))).mean(axis=1)
    assert np.allclose(s["abs_log2fc"], expected)
    assert s["max_delta"][1, 0] == pytest.approx(0.5) and s["max_delta"][2, 1] == pytest.approx(-0.05)
    assert np.all(s["delta_sum"][0] == 0)
    # delta_signal: the same sum back in the signal's units (log1p targets: expm1)
    assert s["delta_signal"][1, 0] == pytest.approx(np.expm1(alt[1, 8, 0]) - np.expm1(ref[1, 8, 0]))
    assert s["delta_signal"][2, 1] == pytest.approx(np.expm1(alt[2, 7, 1]) - np.expm1(ref[2, 7, 1]))
    assert np.allclose(variant_scores(ref, alt, 4, transform="none")["delta_signal"], s["delta_sum"])
    with pytest.raises(InputError, match="transform"):
        variant_scores(ref, alt, 4, transform="sqrt")


def test_effect_summary_by_hand():
    delta = np.array([[-4.0, -1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [np.nan, np.nan, np.nan],
                      [0.5, -3.0, 2.0]])
    s = effect_summary(delta, ["CS13", "CS15", "CS20"])
    np.testing.assert_array_equal(s["effect"][[0, 1, 2, 4]], [-4.0, 1.0, 0.0, -3.0])
    assert list(s["effect_stage"]) == ["CS13", "CS13", "CS13", "", "CS15"]
    # n / (n - 1) * (1 - mean|d| / max|d|)
    np.testing.assert_allclose(s["effect_specificity"][[0, 1, 4]],
                               [1.5 * (1 - (5 / 3) / 4), 0.0, 1.5 * (1 - (5.5 / 3) / 3)])
    assert np.isnan(s["effect"][3]) and np.isnan(s["effect_specificity"][2]) and np.isnan(s["effect_specificity"][3])
    one_stage_only = effect_summary(np.array([[0.0, 2.0, 0.0]]), ["a", "b", "c"])
    assert one_stage_only["effect_specificity"][0] == pytest.approx(1.0)


@pytest.fixture
def tiny_checkpoint(tmp_path):
    model = mixing_model(GEOM, 2)
    path = tmp_path / "best.pt"
    save_checkpoint(path, model, {"model_config": model_config("tiny", GEOM), "tracks": ["CS13", "CS20"],
                                  "geometry": GEOM.to_dict(), "target_transform": {"transform": "log1p"}})
    return path


def _bundled(test_data, n):
    table = pd.read_csv(test_data / "variants.tsv", sep="\t", dtype=str, keep_default_na=False).head(n)
    return table[["chrom", "pos", "ref", "alt", "id", "group"]]


@pytest.fixture
def few_variants(tmp_path, test_data):
    """The first 8 bundled variants as a TSV (keeps the tiny-model tests fast)."""
    path = tmp_path / "few.tsv"
    _bundled(test_data, 8).to_csv(path, sep="\t", index=False)
    return path


def test_bad_inputs_each_get_a_status_and_the_rest_are_scored(tmp_path, test_data, tiny_checkpoint, few_variants):
    """Every input row comes back once; bad rows get a status, good rows the scores they get on their own."""
    good = _bundled(test_data, 3)
    fa = open_fasta(test_data / "genome.fa")
    g0 = good.iloc[0]
    wrong = next(b for b in "ACGT" if b != str(fa[g0.chrom][int(g0.pos) - 1]))
    bad = pd.DataFrame([
        ["chr1", g0.pos, wrong, "A", "mismatch", ""],
        ["chr99", "10", "A", "C", "nochrom", ""],
        ["chrY", str(len(fa["chrY"]) + 1), "A", "C", "beyond_end", ""],
        ["chr1", "10", "A", "A" + "T" * 60, "indel", ""],
        ["chr1", "10", "A", "*", "star", ""],
        ["chr1", "10", "A", ".", "dot", ""],
        ["chr1", "10", "A", "<DEL>", "symbolic", ""],
        [g0.chrom, g0.pos, g0.ref.lower(), g0.alt.lower(), "lowercase", ""],
        [g0.chrom, g0.pos, g0.ref, g0.alt, g0.id, ""],  # duplicate ID
    ], columns=good.columns)
    tsv = tmp_path / "v.tsv"
    pd.concat([good, bad]).to_csv(tsv, sep="\t", index=False)
    scores = score_variant_file(tiny_checkpoint, test_data / "genome.fa", tsv, tmp_path / "out" / "scores.tsv",
                                central_bins=4, batch_size=2, device="cpu")
    assert scores["id"].tolist() == [*good["id"], "mismatch", "nochrom", "beyond_end", "indel", "star", "dot",
                                     "symbolic", "lowercase", f"{g0.id}#2"]
    assert scores["status"].tolist() == ["ok"] * 3 + [
        "ref_mismatch", "unknown_contig", "out_of_bounds", "indel_too_long", "unsupported_allele",
        "unsupported_allele", "unsupported_allele", "ok", "ok"]
    assert scores.loc[scores["status"] != "ok", ["CS13_delta_sum", "CS20_abs_log2fc", "score"]].isna().all().all()
    alone = score_variant_file(tiny_checkpoint, test_data / "genome.fa", few_variants,
                               tmp_path / "alone.tsv", central_bins=4, batch_size=3, device="cpu").head(3)
    cols = ["CS13_delta_sum", "CS20_abs_log2fc", "CS13_max_delta", "score"]
    # float32 predictions (~1) round differently in batches of other sizes: 1e-5 on sums of 4 bins, against
    # effects of ~5e-4
    np.testing.assert_allclose(scores[cols].iloc[:3], alone[cols], rtol=1e-4, atol=1e-5)
    # lowercase alleles and the duplicated row score as the original first variant
    np.testing.assert_allclose(scores[cols].iloc[-2:], np.repeat(alone[cols].iloc[:1].to_numpy(), 2, axis=0),
                               rtol=1e-4, atol=1e-5)
    written = pd.read_csv(tmp_path / "out" / "scores.tsv", sep="\t", keep_default_na=False, na_values=["NA"])
    assert written["status"].tolist() == scores["status"].tolist()
    assert pd.read_parquet(tmp_path / "out" / "scores.parquet")["id"].tolist() == scores["id"].tolist()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["scores.parquet", "scores.tsv"]


def test_strict_ref_stops_with_a_clear_message(tmp_path, test_data, tiny_checkpoint):
    table = _bundled(test_data, 12)
    table["pos"] = (table["pos"].astype(int) - 1).astype(str)  # as if 0-based positions were given
    tsv = tmp_path / "v.tsv"
    table.to_csv(tsv, sep="\t", index=False)
    scores = score_variant_file(tiny_checkpoint, test_data / "genome.fa", tsv, tmp_path / "s.tsv", central_bins=4,
                                device="cpu")
    fa = open_fasta(test_data / "genome.fa")
    expect = ["ok" if str(fa[r.chrom][int(r.pos) - 1]) == r.ref else "ref_mismatch" for r in table.itertuples()]
    assert scores["status"].tolist() == expect and "ref_mismatch" in expect
    with pytest.raises(InputError, match=r"REF allele that disagrees with the FASTA .*0-based"):
        score_variant_file(tiny_checkpoint, test_data / "genome.fa", tsv, tmp_path / "s2.tsv", central_bins=4,
                           device="cpu", strict_ref=True)
    assert not (tmp_path / "s2.tsv").exists()


def test_scores_match_a_hand_computation_from_saved_tracks(tmp_path, test_data, tiny_checkpoint, few_variants):
    """Saved tracks equal an independent forward pass; scores.tsv equals numpy on those tracks."""
    out = tmp_path / "scores.tsv"
    score_variant_file(tiny_checkpoint, test_data / "genome.fa", few_variants, out, central_bins=6, batch_size=4,
                       pseudocount=0.01, device="cpu", save_tracks=tmp_path / "tracks.h5")
    scores = pd.read_csv(out, sep="\t")
    with h5py.File(tmp_path / "tracks.h5") as h5:
        ref, alt = h5["ref"][:], h5["alt"][:]
        ids = h5["id"].asstr()[:].tolist()
        assert list(h5.attrs["tracks"]) == ["CS13", "CS20"] and h5.attrs["variant_bin"] == 8
        assert h5.attrs["central_start"] == 5 and h5.attrs["central_bins"] == 6
    assert ids == scores["id"].tolist() and ref.shape == (len(scores), 16, 2)

    model, _ = load_checkpoint(tiny_checkpoint)
    fa = open_fasta(test_data / "genome.fa")
    for k in (0, len(scores) - 1):
        v = scores.iloc[k]
        r_seq, a_seq = variant_sequences(fa, v.chrom, int(v.pos), v.alt, GEOM.context_length)
        with torch.no_grad():
            y = model(torch.from_numpy(np.stack([one_hot(r_seq), one_hot(a_seq)]))).numpy()
        np.testing.assert_allclose(ref[k], y[0], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(alt[k], y[1], rtol=1e-4, atol=1e-6)

    r, a = ref[:, 5:11].astype(np.float64), alt[:, 5:11].astype(np.float64)
    for t, stage in enumerate(["CS13", "CS20"]):
        np.testing.assert_allclose(scores[f"{stage}_delta_sum"], (a - r)[..., t].sum(axis=1), rtol=1e-5, atol=1e-8)
        lfc = np.mean([[abs(np.log2((a[i, b, t] + 0.01) / (r[i, b, t] + 0.01))) for b in range(6)]
                       for i in range(len(r))], axis=1)
        np.testing.assert_allclose(scores[f"{stage}_abs_log2fc"], lfc, rtol=1e-5, atol=1e-8)
        d = (a - r)[..., t]
        np.testing.assert_allclose(scores[f"{stage}_max_delta"], [row[np.argmax(np.abs(row))] for row in d],
                                   rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(scores["score"], scores[["CS13_abs_log2fc", "CS20_abs_log2fc"]].max(axis=1))


def test_track_selection_keeps_named_ids_and_top_n(tmp_path, test_data, tiny_checkpoint, few_variants):
    scores = score_variant_file(tiny_checkpoint, test_data / "genome.fa", few_variants,
                                tmp_path / "s.tsv", central_bins=4, device="cpu", save_tracks=tmp_path / "t.h5",
                                track_ids=["var002"], track_top_n=3)
    # the named variants, then the three highest-scoring of the others
    top = scores[scores["id"] != "var002"].sort_values("score", ascending=False)["id"].head(3).tolist()
    with h5py.File(tmp_path / "t.h5") as h5:
        kept = h5["id"].asstr()[:].tolist()
    assert sorted(kept) == sorted({"var002", *top})
    with pytest.raises(InputError, match="not found"):
        score_variant_file(tiny_checkpoint, test_data / "genome.fa", few_variants,
                           tmp_path / "s.tsv", device="cpu", save_tracks=tmp_path / "t.h5", track_ids=["nope"])


def test_track_keeper_top_n_by_hand():
    rng = np.random.default_rng(1)
    keeper = TrackKeeper(top_n=2)
    score = rng.permutation(10).astype(float)
    x = rng.normal(size=(10, 3, 1))
    for part in (slice(0, 4), slice(4, 10)):  # offered in two chunks, as the scoring loop does
        rows = np.arange(10)[part]
        keeper.add(rows, rows.astype(str), score[part], x[part], -x[part])
    kept = keeper.rows()
    assert sorted(kept) == sorted(np.argsort(score)[-2:].tolist())
    for row, (r, a) in kept.items():
        np.testing.assert_array_equal(r, x[row]) and np.testing.assert_array_equal(a, -x[row])


def test_ref_reuse_gives_the_scores_of_full_alt_passes(test_data, tiny_checkpoint):
    """A StageEnformer scores through SNVPairs (alt convolutions recomputed near the variant only); the same
    model behind a plain wrapper runs every alt in full. Both must give the same scores, with RC ensembling too."""
    model, _ = load_checkpoint(tiny_checkpoint)

    class Plain(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner(x)

    fa = open_fasta(test_data / "genome.fa")
    variants = read_variants(test_data / "variants.tsv").head(6)
    cols = [f"{t}_{k}" for t in ("CS13", "CS20") for k in ("delta_sum", "abs_log2fc", "max_delta")]
    for rc in (False, True):
        fast = score_with_model(model, GEOM, ["CS13", "CS20"], fa, variants, central_bins=8, batch_size=3,
                                rc_ensemble=rc)
        full = score_with_model(Plain(model), GEOM, ["CS13", "CS20"], fa, variants, central_bins=8,
                                batch_size=3, rc_ensemble=rc)
        assert (fast["CS13_abs_log2fc"] > 1e-5).all()  # effects well above float rounding
        np.testing.assert_allclose(fast[cols], full[cols], rtol=1e-4, atol=1e-8)


def test_batching_does_not_change_scores(test_data, tiny_checkpoint):
    model, ckpt = load_checkpoint(tiny_checkpoint)
    fa = open_fasta(test_data / "genome.fa")
    variants = read_variants(test_data / "variants.tsv").head(5)
    a = score_with_model(model, GEOM, ["CS13", "CS20"], fa, variants, central_bins=4, batch_size=1)
    b = score_with_model(model, GEOM, ["CS13", "CS20"], fa, variants, central_bins=4, batch_size=5)
    # float32 rounding of predictions (~1) depends on the batch: ~3e-7 here, against scores of ~4e-4
    np.testing.assert_allclose(a["score"], b["score"], rtol=1e-4, atol=2e-6)


def test_variant_panels_with_observed_signal(tmp_path, test_data, tiny_checkpoint, few_variants):
    import matplotlib.image as mpimg

    from conftest import raw_values
    from stagevep.variants.figures import binned_signal, plot_variant_files

    score_variant_file(tiny_checkpoint, test_data / "genome.fa", few_variants, tmp_path / "scores.tsv",
                       central_bins=4, device="cpu", save_tracks=tmp_path / "tracks.h5", track_ids=["var003"],
                       track_top_n=2)
    bw = tmp_path / "CS13.mean.bw"
    bw.write_bytes((test_data / "bigwig" / "CS13_rep1.bw").read_bytes())
    pngs = plot_variant_files(tmp_path / "scores.tsv", tmp_path / "tracks.h5", tmp_path / "plots", ["var003"], 1,
                              [bw])
    scores = pd.read_csv(tmp_path / "scores.tsv", sep="\t")
    top = scores.sort_values("score", ascending=False)["id"].iloc[0]
    assert [p.name for p in pngs] == list(dict.fromkeys(["variant_var003.png", f"variant_{top}.png"]))
    for p in pngs:
        img = mpimg.imread(p)
        assert img.shape[0] > 300 and img[..., :3].std() > 0.05
        assert p.with_suffix(".pdf").exists()
    # the observed row: per-bin sums equal pyBigWig's raw values summed by hand (N-padded past the start)
    obs = binned_signal({"CS13": bw}, ["CS13", "CS20"], "chr1", -256, 16, 128)
    raw = np.r_[np.zeros(256), raw_values(bw, "chr1", 0, 16 * 128 - 256)]
    np.testing.assert_allclose(obs[:, 0], raw.reshape(16, 128).sum(axis=1), rtol=1e-5)
    assert (obs[:, 1] == 0).all() and (obs[:2, 0] == 0).all()
    with h5py.File(tmp_path / "tracks.h5") as h5:
        absent = next(i for i in scores["id"] if i not in set(h5["id"].asstr()[:]))  # scored, tracks not kept
    scores.loc[scores["id"] == absent, "status"] = "ref_mismatch"  # an unscored variant is skipped, not fatal
    scores.to_csv(tmp_path / "scores.tsv", sep="\t", index=False, na_rep="NA")
    assert plot_variant_files(tmp_path / "scores.tsv", tmp_path / "tracks.h5", tmp_path / "p2", [absent]) == []
    scores.loc[scores["id"] == absent, "status"] = "ok"
    scores.to_csv(tmp_path / "scores.tsv", sep="\t", index=False, na_rep="NA")
    with pytest.raises(InputError, match="holds no predictions for"):
        plot_variant_files(tmp_path / "scores.tsv", tmp_path / "tracks.h5", tmp_path / "plots", [absent])
    with pytest.raises(InputError, match="does not name a model track"):
        plot_variant_files(tmp_path / "scores.tsv", tmp_path / "tracks.h5", tmp_path / "plots", [], 1,
                           [test_data / "bigwig" / "CS13_rep1.bw"])


@pytest.mark.parametrize(("n_bins", "central"), [(896, 96), (64, 7), (32, 3), (16, 2), (8, 1), (1, 1)])
def test_default_central_bins_is_the_seeds_share_of_the_window(n_bins, central):
    assert default_central_bins(Geometry(n_bins=n_bins, bin_size=128, context_length=131_072)) == central


def test_score_variants_of_a_64_bin_model_needs_no_geometry_flag(tmp_path, test_data, few_variants):
    """bin/score_variants.py with only --checkpoint/--fasta/--variants/--out on a 64-bin model (the old fixed
    default of 96 central bins failed here): it scores, and summarises round(64 * 96 / 896) = 7 central bins."""
    import subprocess
    import sys

    geometry = Geometry(n_bins=64, bin_size=128, context_length=8192)
    model = mixing_model(geometry, 2)
    ckpt = tmp_path / "best64.pt"
    save_checkpoint(ckpt, model, {"model_config": model_config("tiny", geometry), "tracks": ["CS13", "CS20"],
                                  "geometry": geometry.to_dict(), "target_transform": {"transform": "log1p"}})
    out = tmp_path / "scores.tsv"
    res = subprocess.run([sys.executable, str(Path(__file__).resolve().parents[1] / "bin" / "score_variants.py"),
                          "--checkpoint", str(ckpt), "--fasta", str(test_data / "genome.fa"), "--variants",
                          str(few_variants), "--out", str(out), "--device", "cpu", "--save-tracks",
                          str(tmp_path / "tracks.h5")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    scores = pd.read_csv(out, sep="\t")
    assert len(scores) == 8 and (scores["status"] == "ok").sum() >= 6
    with h5py.File(tmp_path / "tracks.h5") as h5:
        assert h5.attrs["central_bins"] == 7 and h5.attrs["n_bins"] == 64
