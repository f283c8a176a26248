"""Shared reference passes (--share_reference): tiles, and agreement with a brute-force implementation."""

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import fasta_text, mixing_model
from stagevep.core.sequence import one_hot
from stagevep.geometry import Geometry
from stagevep.io.genome import open_fasta
from stagevep.variants.score import score_with_model
from stagevep.variants.shared import max_offset, own_bins, tile_size, tiles
from stagevep.variants.summary import variant_scores

GEOM = Geometry(n_bins=16, bin_size=128, context_length=4096)
TRACKS = ["CS13", "CS20"]
CENTRAL = 8
SUFFIXES = ("delta_sum", "abs_log2fc", "max_delta", "delta_signal")


def dense_snvs(fa, chrom: str, start: int, length: int, rng: np.random.Generator, n: int) -> pd.DataFrame:
    """``n`` distinct random SNVs (REF from the genome) in 1-based ``[start, start + length)``."""
    seq = str(fa[chrom][start - 1:start - 1 + length]).upper()
    rows = []
    for k in rng.choice(length, size=n, replace=False):
        ref = seq[k]
        alt = str(rng.choice([b for b in "ACGT" if b != ref]))
        rows.append((chrom, start + int(k), ref, alt, f"v{len(rows)}", ""))
    return pd.DataFrame(rows, columns=["chrom", "pos", "ref", "alt", "id", "group"])


def test_tiles_follow_the_genome_and_keep_members_near_the_centre():
    size = tile_size(GEOM, CENTRAL)
    assert size == 2 * max_offset(GEOM, CENTRAL) == 2 * ((16 - 8) // 4) * 128
    rng = np.random.default_rng(1)
    chroms = np.array(rng.choice(["chr1", "chr2"], size=300))
    positions = rng.integers(1, 20_000, size=300)
    groups = tiles(chroms, positions, GEOM, CENTRAL)
    members = np.concatenate([m for m, _ in groups])
    assert sorted(members.tolist()) == list(range(300))  # every variant in exactly one tile
    for m, centre in groups:
        assert len(set(chroms[m])) == 1
        # a whole number of bins from the centre: on the first base of a bin, as with per-variant centring
        assert ((positions[m] - 1 - centre) % GEOM.bin_size == 0).all()
        assert np.abs(positions[m] - 1 - centre).max() <= max_offset(GEOM, CENTRAL) + GEOM.bin_size
        # the centre is fixed by the tile alone: the same for a variant on its own
        for i in m[:2]:
            assert tiles(chroms[[i]], positions[[i]], GEOM, CENTRAL)[0][1] == centre


def test_own_bins_recentres_each_variant_by_hand():
    pred = np.arange(2 * 6 * 1, dtype=float).reshape(2, 6, 1)
    out = own_bins(pred, np.array([1, 4]), 6)
    np.testing.assert_array_equal(out[0, :, 0], [np.nan, np.nan, 0, 1, 2, 3])
    np.testing.assert_array_equal(out[1, :, 0], [7, 8, 9, 10, 11, np.nan])


def brute_force(model, fa_text: dict[str, str], variants: pd.DataFrame, rc: bool) -> pd.DataFrame:
    """Per tile: both windows built by string operations, every alt a full forward pass of the model, bins
    re-centred on each variant's bin by hand, summarised by variant_scores."""
    L, flank, bs = GEOM.context_length, GEOM.flank, GEOM.bin_size
    size = tile_size(GEOM, CENTRAL)

    def window(chrom: str, start: int) -> str:
        seq = fa_text[chrom]
        return "".join(seq[i].upper() if 0 <= i < len(seq) else "N" for i in range(start, start + L))

    def predict(s: str) -> np.ndarray:
        x = torch.from_numpy(one_hot(s))[None].double()
        with torch.no_grad():
            y = model(x)[0].numpy()
            if rc:
                y = 0.5 * (y + model(torch.flip(x, dims=(1, 2)))[0].numpy()[::-1])
        return y

    out = {f"{t}_{k}": np.zeros(len(variants)) for t in TRACKS for k in SUFFIXES}
    for i, v in enumerate(variants.itertuples(index=False)):
        middle = ((v.pos - 1) // size) * size + size // 2
        centre = middle + (v.pos - 1 - middle) % bs  # first index at or after the middle in the variant's residue
        start = centre - L // 2
        ref_seq = window(v.chrom, start)
        k = v.pos - 1 - start
        assert ref_seq[k] == v.ref
        alt_seq = ref_seq[:k] + v.alt + ref_seq[k + 1:]
        b = (k - flank) // bs
        ref, alt = np.full((GEOM.n_bins, 2), np.nan), np.full((GEOM.n_bins, 2), np.nan)
        pr, pa = predict(ref_seq), predict(alt_seq)
        for j in range(GEOM.n_bins):  # output bin j holds window bin b - n_bins // 2 + j
            src = b - GEOM.n_bins // 2 + j
            if 0 <= src < GEOM.n_bins:
                ref[j], alt[j] = pr[src], pa[src]
        summary = variant_scores(ref[None], alt[None], CENTRAL)
        for t, track in enumerate(TRACKS):
            for key in SUFFIXES:
                out[f"{track}_{key}"][i] = summary[key][0, t]
    return pd.DataFrame(out)


@pytest.mark.parametrize("rc", [False, True])
def test_shared_scores_equal_a_brute_force_implementation(test_data, rc):
    """In float64, so that any difference beyond rounding (a bin off by one, a stale feature) shows."""
    model = mixing_model(GEOM, 2).double()
    fa = open_fasta(test_data / "genome.fa")
    chrom = next(iter(fa.keys()))
    # a dense region spanning several tiles, plus variants near the contig's start (windows padded with N)
    variants = pd.concat([dense_snvs(fa, chrom, 50_000, 2_000, np.random.default_rng(2), 24),
                          dense_snvs(fa, chrom, 1, 300, np.random.default_rng(3), 4)], ignore_index=True)
    variants["id"] = [f"v{i}" for i in range(len(variants))]
    shared = score_with_model(model, GEOM, TRACKS, fa, variants, CENTRAL, batch_size=5, rc_ensemble=rc,
                              share_reference=True)
    assert (shared["status"] == "ok").all()
    expected = brute_force(model, fasta_text(test_data / "genome.fa"), variants, rc)
    cols = list(expected.columns)
    assert (shared["CS13_abs_log2fc"] > 5e-5).all()  # effects well above float rounding
    np.testing.assert_allclose(shared[cols].to_numpy(float), expected[cols].to_numpy(), rtol=1e-9, atol=1e-12)


def test_shared_scores_do_not_depend_on_the_other_variants(test_data):
    model = mixing_model(GEOM, 2).double()
    fa = open_fasta(test_data / "genome.fa")
    chrom = next(iter(fa.keys()))
    variants = dense_snvs(fa, chrom, 80_000, 1_500, np.random.default_rng(4), 30)
    together = score_with_model(model, GEOM, TRACKS, fa, variants, CENTRAL, batch_size=4, share_reference=True)
    alone = pd.concat([score_with_model(model, GEOM, TRACKS, fa, variants.iloc[[i]], CENTRAL, batch_size=4,
                                        share_reference=True) for i in (0, 7, 29)])
    np.testing.assert_allclose(together["score"].to_numpy()[[0, 7, 29]], alone["score"].to_numpy(), rtol=1e-9)


def test_a_variant_at_its_tile_centre_scores_as_with_per_variant_centring(test_data):
    """At the centre of its tile the shared window is the variant's own centred window."""
    model = mixing_model(GEOM, 2)
    fa = open_fasta(test_data / "genome.fa")
    chrom = next(iter(fa.keys()))
    size = tile_size(GEOM, CENTRAL)
    pos = 30 * size + size // 2 + 1  # 1-based position of tile 30's centre
    ref = str(fa[chrom][pos - 1]).upper()
    table = pd.DataFrame([(chrom, pos, ref, "A" if ref != "A" else "C", "c", "")],
                         columns=["chrom", "pos", "ref", "alt", "id", "group"])
    cols = [f"{t}_{k}" for t in TRACKS for k in SUFFIXES]
    shared = score_with_model(model, GEOM, TRACKS, fa, table, CENTRAL, share_reference=True)
    centred = score_with_model(model, GEOM, TRACKS, fa, table, CENTRAL)
    assert np.abs(centred[cols].to_numpy(float)).min() > 1e-4
    # float32 rounding of predictions of ~1 (~1e-6 a bin); a bin off by one would differ by ~1e-4
    np.testing.assert_allclose(shared[cols].to_numpy(float), centred[cols].to_numpy(float), rtol=0, atol=5e-6)


def test_indels_are_scored_as_without_sharing(test_data):
    model = mixing_model(GEOM, 2)
    fa = open_fasta(test_data / "genome.fa")
    chrom = next(iter(fa.keys()))
    snvs = dense_snvs(fa, chrom, 60_000, 500, np.random.default_rng(5), 6)
    base = str(fa[chrom][60_199]).upper()
    indels = pd.DataFrame([(chrom, 60_200, base, base + "GATTACA", "ins", ""),
                           (chrom, 60_200, base + str(fa[chrom][60_200:60_203]).upper(), base, "del", "")],
                          columns=snvs.columns)
    table = pd.concat([snvs, indels], ignore_index=True)
    shared = score_with_model(model, GEOM, TRACKS, fa, table, CENTRAL, share_reference=True)
    plain = score_with_model(model, GEOM, TRACKS, fa, indels, CENTRAL)
    assert (shared["status"] == "ok").all()
    np.testing.assert_allclose(shared["score"].to_numpy()[-2:], plain["score"].to_numpy(), rtol=1e-5)


@pytest.mark.parametrize("pair_pool", [False, True])
def test_incremental_features_equal_full_convolutions(pair_pool):
    """Layer-by-layer recomputation near the change gives conv_features of each alternate, at the window's
    ends too, with enformer-pytorch's pooling and with the pair pooling used at inference (float64)."""
    from stagevep.model.enformer import set_pair_attention_pool
    from stagevep.model.incremental import IncrementalConv

    model = mixing_model(GEOM, 2).double()
    set_pair_attention_pool(model, pair_pool)
    rng = np.random.default_rng(6)
    L = GEOM.context_length
    x = torch.from_numpy(np.eye(4)[rng.integers(0, 4, L)]).double()
    inc = IncrementalConv(model, x)
    idx = torch.tensor([0, 1, 2, 7, L // 2, L // 2 + 1, L - 8, L - 2, L - 1])
    bases = torch.from_numpy((x[idx].argmax(dim=1).numpy() + rng.integers(1, 4, len(idx))) % 4)
    xs = x[None].repeat(len(idx), 1, 1)
    xs[torch.arange(len(idx)), idx] = torch.nn.functional.one_hot(bases, 4).double()
    with torch.no_grad():
        full = model.conv_features(xs)
    np.testing.assert_allclose(inc.features[0].numpy(), model.conv_features(x[None])[0].detach().numpy(), atol=1e-12)
    assert (full - inc.features).abs().amax(dim=(1, 2)).min() > 1e-4  # every alternate changes its features
    np.testing.assert_allclose(inc.alternates(idx, bases).numpy(), full.numpy(), rtol=1e-10, atol=1e-12)


def test_shared_scores_agree_with_per_variant_centring(test_data):
    """Every variant sits on the first base of a bin in both modes, a whole number of bins apart, and the model
    moves with whole-bin shifts: only the window's ends differ. (Placing variants at other offsets within their
    bin gives r of about 0.75 for a 1-bp offset on the trained demo model: docs/benchmarks.md.)"""
    model = mixing_model(GEOM, 2)
    fa = open_fasta(test_data / "genome.fa")
    chrom = next(iter(fa.keys()))
    variants = dense_snvs(fa, chrom, 50_000, 2_000, np.random.default_rng(2), 60)
    shared = score_with_model(model, GEOM, TRACKS, fa, variants, CENTRAL, share_reference=True)
    centred = score_with_model(model, GEOM, TRACKS, fa, variants, CENTRAL)
    for col in [f"{t}_{k}" for t in TRACKS for k in SUFFIXES]:
        r = np.corrcoef(shared[col].to_numpy(float), centred[col].to_numpy(float))[0, 1]
        assert r > 0.999, (col, r)
