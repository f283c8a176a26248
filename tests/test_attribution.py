"""Attribution at variants: ISM against one model call per mutant, gradient x input against autograd."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from conftest import mixing_model
from stagevep.core.sequence import one_hot
from stagevep.errors import InputError
from stagevep.geometry import Geometry
from stagevep.io.genome import open_fasta
from stagevep.model.checkpoint import save_checkpoint
from stagevep.model.sizes import model_config
from stagevep.variants.attribution import (
    attribute_variant,
    attribute_variant_file,
    gradient_x_input,
    ism,
    reference_contribution,
)
from stagevep.variants.score_file import score_variant_file
from stagevep.variants.summary import central_slice

GEOM = Geometry(n_bins=8, bin_size=128, context_length=2048)
TRACKS = ["CS13", "CS15", "CS20"]


@pytest.fixture(scope="module")
def model():
    return mixing_model(GEOM, len(TRACKS), seed=4)


def f(model, x: np.ndarray, central: slice) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(x[None]))[0, central].double().sum(0).numpy()


def test_ism_equals_one_call_per_mutant(model, test_data):
    fa = open_fasta(test_data / "genome.fa")
    seq = str(fa["chr2"][10_000:10_000 + GEOM.context_length]).upper()
    seq = seq[:1020] + "N" + seq[1021:]  # an N inside the flank gets all four bases
    x = one_hot(seq)
    central = central_slice(GEOM.n_bins, 2)
    got = ism(model, x, flank=5, central=central, batch_size=7)
    assert got.shape == (11, 4, len(TRACKS))
    base = f(model, x, central)
    for i, p in enumerate(range(1024 - 5, 1024 + 6)):
        for b in range(4):
            y = x.copy()
            y[p] = 0.0
            y[p, b] = 1.0
            want = 0.0 if x[p, b] == 1 else f(model, y, central) - base
            # float32 predictions of order 1, batched or alone: differences agree to ~1e-6 (effects ~1e-3)
            np.testing.assert_allclose(got[i, b], want, rtol=1e-3, atol=5e-6, err_msg=f"{p} {b}")
    assert np.abs(got).max() > 1e-3


def test_reference_contribution_is_minus_the_mean_mutant_effect():
    x = np.eye(4)[[0, 2]].astype(np.float32)
    scores = np.zeros((2, 4, 1))
    scores[0, 1:, 0] = [3.0, 6.0, 9.0]
    scores[1, [0, 1, 3], 0] = [-1.0, -2.0, -3.0]
    out = reference_contribution(scores, x)
    assert out[0, 0, 0] == -6.0 and out[1, 2, 0] == 2.0
    assert np.count_nonzero(out) == 2


def test_gradient_x_input_equals_autograd(model, test_data):
    fa = open_fasta(test_data / "genome.fa")
    x = one_hot(str(fa["chr3"][5_000:5_000 + GEOM.context_length]))
    central = central_slice(GEOM.n_bins, 4)
    got = gradient_x_input(model, x, flank=8, central=central)
    inp = torch.from_numpy(x[None]).requires_grad_(True)
    for t in range(len(TRACKS)):
        (grad,) = torch.autograd.grad(model(inp)[0, central, t].sum(), inp)
        want = (inp * grad)[0].detach().numpy()[1024 - 8:1024 + 9]
        np.testing.assert_allclose(got[:, :, t], want, rtol=1e-5, atol=1e-7)
    assert np.count_nonzero(got * (1 - x[1024 - 8:1024 + 9, :, None])) == 0, "non-zero only at the window's bases"


def test_attribution_files_layout_and_figure(tmp_path, model, test_data):
    ckpt = tmp_path / "best.pt"
    save_checkpoint(ckpt, model, {"model_config": model_config("tiny", GEOM), "tracks": TRACKS,
                                  "geometry": GEOM.to_dict(), "target_transform": {"transform": "log1p"}})
    variants = pd.read_csv(test_data / "variants.tsv", sep="\t").head(6)
    variants.loc[5, ["ref", "alt"]] = [variants.loc[5, "ref"], variants.loc[5, "ref"] + "AC"]
    table = tmp_path / "v.tsv"
    variants.to_csv(table, sep="\t", index=False)
    scores = score_variant_file(ckpt, test_data / "genome.fa", table, tmp_path / "scores.tsv", central_bins=2)
    out = attribute_variant_file(ckpt, test_data / "genome.fa", tmp_path / "scores.tsv", tmp_path / "attr",
                                 ids=[variants.loc[0, "id"]], top_n=2, flank=6, central_bins=2)
    ranked = scores[scores["ref"].str.len() == scores["alt"].str.len()].sort_values("score", ascending=False)
    first = variants.loc[0, "id"]
    expected = [first, *[i for i in ranked["id"] if i != first][:2]]
    assert [p.stem for p in out] == expected
    with h5py.File(out[0]) as h5:
        assert h5["ism"].shape == h5["grad_ref"].shape == h5["grad_alt"].shape == (13, 4, 3)
        assert h5["onehot_ref"].shape == (13, 4)
        assert h5.attrs["pos"] == variants.loc[0, "pos"] and h5.attrs["start"] == variants.loc[0, "pos"] - 6
        assert list(h5.attrs["tracks"]) == TRACKS
        centre = h5["onehot_ref"][6]
        alt = h5["onehot_alt"][6]
        assert "ACGT"[int(np.argmax(centre))] == variants.loc[0, "ref"]
        assert "ACGT"[int(np.argmax(alt))] == variants.loc[0, "alt"]
    assert all((tmp_path / "attr" / f"{p.stem}.png").stat().st_size > 10_000 for p in out)
    direct = attribute_variant(model, GEOM, open_fasta(test_data / "genome.fa"), variants.loc[0, "chrom"],
                               int(variants.loc[0, "pos"]), variants.loc[0, "alt"], 6, 2)
    with h5py.File(out[0]) as h5:
        # the loaded checkpoint pools with PairAttentionPool (same maths, other rounding)
        np.testing.assert_allclose(h5["ism"][:], direct["ism"], rtol=1e-3, atol=2e-6)
    with pytest.raises(InputError, match="not found in"):
        attribute_variant_file(ckpt, test_data / "genome.fa", tmp_path / "scores.tsv", tmp_path / "x", ids=["nope"],
                               central_bins=2)
    with pytest.raises(InputError, match="needs scored SNVs"):
        attribute_variant_file(ckpt, test_data / "genome.fa", tmp_path / "scores.tsv", tmp_path / "x",
                               ids=[variants.loc[5, "id"]], central_bins=2)
