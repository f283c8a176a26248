"""Variant tables, statuses, sequences and scores."""

import numpy as np
import pandas as pd
import pytest
import torch

from stagevep.errors import InputError
from stagevep.geometry import Geometry
from stagevep.io.genome import open_fasta
from stagevep.io.variants import read_variants
from stagevep.model.checkpoint import save_checkpoint
from stagevep.model.enformer import build_model, model_config
from stagevep.variants.score import (
    central_slice,
    score_variants,
    variant_scores,
    variant_sequences,
    variant_status,
    write_scores,
)

GEOM = Geometry(n_bins=16, bin_size=128, context_length=4096)


def test_read_tsv_ids_and_groups(tmp_path):
    tsv = tmp_path / "v.tsv"
    tsv.write_text("chrom\tpos\tref\talt\tid\tgroup\nchr1\t10\ta\tg\t\tfunctional\nchr1\t20\tC\tT\trs1\t\n")
    groups = tmp_path / "g.tsv"
    groups.write_text("id\tgroup\nrs1\tnonfunctional\n")
    v = read_variants(tsv, groups)
    assert v["id"].tolist() == ["chr1:10:A:G", "rs1"]
    assert v["group"].tolist() == ["", "nonfunctional"]  # --groups replaces the table's groups
    assert v["ref"].tolist() == ["A", "C"]


def test_read_vcf_splits_multiallelic(tmp_path):
    vcf = tmp_path / "v.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=1000>\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "chr1\t100\trs5\tA\tC,G\t.\t.\t.\n"
        "chr1\t200\t.\tT\tA\t.\t.\t.\n"
    )
    v = read_variants(vcf)
    assert v[["id", "pos", "ref", "alt"]].values.tolist() == [
        ["rs5:C", 100, "A", "C"], ["rs5:G", 100, "A", "G"], ["chr1:200:T:A", 200, "T", "A"]]


def test_bad_tables(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("chrom\tposition\tref\talt\nchr1\t1\tA\tC\n")
    with pytest.raises(InputError, match=r"lacks column\(s\) \['pos'\]"):
        read_variants(bad)
    bad.write_text("chrom\tpos\tref\talt\nchr1\t1.5\tA\tC\n")
    with pytest.raises(InputError, match="row 2: pos must be a positive 1-based integer"):
        read_variants(bad)


@pytest.mark.parametrize(
    ("fasta_base", "ref", "alt", "status"),
    [("A", "A", "G", "ok"), ("A", "C", "G", "ref_mismatch"), (None, "A", "G", "unknown_contig"),
     ("A", "A", "AT", "indel_unsupported"), ("A", "A", "<DEL>", "unsupported_allele"),
     ("A", "A", "N", "unsupported_allele"), ("A", "A", "A", "unsupported_allele")],
)
def test_variant_status(fasta_base, ref, alt, status):
    assert variant_status(fasta_base, ref, alt) == status


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


@pytest.fixture
def tiny_checkpoint(tmp_path):
    torch.manual_seed(0)
    model = build_model(model_config("tiny", GEOM), 2)
    path = tmp_path / "best.pt"
    save_checkpoint(path, model, {"model_config": model_config("tiny", GEOM), "tracks": ["CS13", "CS20"],
                                  "geometry": GEOM.to_dict(), "target_transform": {"transform": "log1p"}})
    return path


def test_score_variants_every_variant_once(tmp_path, test_data, tiny_checkpoint):
    variants = read_variants(test_data / "variants.tsv").head(6)
    fa = open_fasta(test_data / "genome.fa")
    bad = variants.iloc[0].copy()
    bad["id"], bad["ref"] = "mismatch", next(b for b in "ACGT" if b != str(fa[bad.chrom][int(bad.pos) - 1]))
    extra = pd.DataFrame([
        bad.to_dict(),
        {"id": "nochrom", "chrom": "chr99", "pos": 10, "ref": "A", "alt": "C", "group": ""},
        {"id": "indel", "chrom": "chr1", "pos": 10, "ref": "A", "alt": "AT", "group": ""},
    ])
    table = pd.concat([variants, extra], ignore_index=True)
    scores = score_variants(tiny_checkpoint, test_data / "genome.fa", table, central_bins=4, batch_size=4,
                            device="cpu")
    assert scores["id"].tolist() == table["id"].tolist()
    assert scores["status"].tolist()[-3:] == ["ref_mismatch", "unknown_contig", "indel_unsupported"]
    assert (scores["status"].iloc[:6] == "ok").all()
    assert scores.iloc[-3:][["CS13_delta_sum", "score"]].isna().all().all()
    ok = scores.iloc[:6]
    assert np.allclose(ok["score"], ok[["CS13_abs_log2fc", "CS20_abs_log2fc"]].max(axis=1))
    assert (ok["score"] > 0).all()
    write_scores(scores, tmp_path / "scores.tsv")
    back = pd.read_parquet(tmp_path / "scores.parquet")
    assert back["id"].tolist() == scores["id"].tolist()


def test_batching_does_not_change_scores(test_data, tiny_checkpoint):
    variants = read_variants(test_data / "variants.tsv").head(5)
    a = score_variants(tiny_checkpoint, test_data / "genome.fa", variants, central_bins=4, batch_size=1, device="cpu")
    b = score_variants(tiny_checkpoint, test_data / "genome.fa", variants, central_bins=4, batch_size=5, device="cpu")
    np.testing.assert_allclose(a["score"], b["score"], rtol=1e-4)
