"""A short real training run on the bundled data, and the non-finite loss abort."""

import csv

import numpy as np
import pytest
import torch

from stagevep.core.sequence import reverse_complement_onehot
from stagevep.data.dataset import WindowDataset
from stagevep.data.targets import make_targets
from stagevep.data.windows import make_windows
from stagevep.geometry import Geometry
from stagevep.io.genome import fasta_lengths
from stagevep.io.hdf5 import read_targets
from stagevep.model.checkpoint import load_checkpoint
from stagevep.train import loop
from stagevep.train.config import TrainConfig
from stagevep.train.loop import train

GEOM = Geometry(n_bins=16, bin_size=128, context_length=4096)


@pytest.fixture(scope="module")
def targets_h5(tmp_path_factory, test_data):
    """Targets from the first replicate of each stage over the bundled enhancers (short geometry)."""
    import pandas as pd

    out = tmp_path_factory.mktemp("targets") / "targets.h5"
    enh = pd.read_csv(test_data / "enhancers.tsv", sep="\t")
    peaks = pd.DataFrame({"chrom": enh["chrom"], "start": enh["centre"] - 100, "end": enh["centre"] + 100})
    windows = make_windows(peaks, fasta_lengths(test_data / "genome.fa"), GEOM.target_length)
    sheet = pd.read_csv(test_data / "samplesheet.csv").groupby("stage", sort=False).first()
    make_targets(windows, {s: test_data / r.bigwig for s, r in sheet.iterrows()}, out, GEOM)
    return out


def test_dataset_items_and_reverse_complement(targets_h5, test_data):
    data = read_targets(targets_h5)
    ds = WindowDataset(test_data / "genome.fa", data.windows, data.targets, GEOM)
    x, y = ds[0]
    assert x.shape == (4096, 4) and y.shape == (16, 5)
    rc_ds = WindowDataset(test_data / "genome.fa", data.windows, data.targets, GEOM, rc_augment=True, seed=1)
    flipped = []
    for epoch in range(8):  # the draw of an item changes with the epoch only
        rc_ds.set_epoch(epoch)
        flipped.append(rc_ds[0])
    assert any(torch.equal(xr, reverse_complement_onehot(x)) and torch.equal(yr, y.flip(0)) for xr, yr in flipped)
    assert any(torch.equal(xr, x) for xr, _ in flipped)
    # reverse complement of one-hot is complement (A<->T, C<->G) of the reversed sequence
    seq = "ACGTTN"
    from stagevep.core.sequence import one_hot
    assert torch.equal(reverse_complement_onehot(torch.from_numpy(one_hot(seq))), torch.from_numpy(one_hot("NAACGT")))


def test_short_training_writes_checkpoint_contract(tmp_path, targets_h5, test_data):
    cfg = TrainConfig(targets=str(targets_h5), fasta=str(test_data / "genome.fa"), out_dir=str(tmp_path),
                      model_size="tiny", max_steps=6, val_every=3, batch_size=2, lr=1e-3, device="cpu")
    best = train(cfg)
    model, ckpt = load_checkpoint(best)
    assert ckpt["tracks"] == ["CS13", "CS14", "CS15", "CS17", "CS20"]
    assert ckpt["geometry"] == GEOM.to_dict()
    assert ckpt["train_config"]["max_steps"] == 6 and ckpt["target_transform"]["transform"] == "log1p"
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert [int(r["step"]) for r in rows] == list(range(1, 7))
    val = [float(r["val_loss"]) for r in rows if r["val_loss"]]
    assert len(val) == 2 and all(np.isfinite(val))
    assert ckpt["val_loss"] == pytest.approx(min(val))
    assert (tmp_path / "last.pt").exists() and (tmp_path / "config.json").exists()


def test_training_changes_weights_only_where_trainable(tmp_path, targets_h5, test_data):
    cfg = TrainConfig(targets=str(targets_h5), fasta=str(test_data / "genome.fa"), out_dir=str(tmp_path),
                      model_size="tiny", max_steps=2, val_every=2, batch_size=2, lr=1e-2, finetune="head",
                      device="cpu")
    torch.manual_seed(cfg.seed)
    from stagevep.model.enformer import build_model
    from stagevep.model.sizes import model_config
    initial = build_model(model_config("tiny", GEOM), 5).state_dict()
    model, _ = load_checkpoint(train(cfg))
    after = model.state_dict()
    assert torch.equal(after["trunk.stem.0.weight"], initial["trunk.stem.0.weight"])
    assert not torch.equal(after["head.0.weight"], initial["head.0.weight"])


def test_non_finite_loss_aborts_without_checkpoint(tmp_path, targets_h5, test_data, monkeypatch):
    calls = {"n": 0}
    real = loop.loss_fn

    def nan_on_third(name, pred, target, stage_weight=0.0):
        calls["n"] += 1
        loss = real(name, pred, target, stage_weight)
        return loss * float("nan") if calls["n"] == 3 else loss

    monkeypatch.setattr(loop, "loss_fn", nan_on_third)
    cfg = TrainConfig(targets=str(targets_h5), fasta=str(test_data / "genome.fa"), out_dir=str(tmp_path),
                      model_size="tiny", max_steps=5, val_every=10, batch_size=2, device="cpu")
    with pytest.raises(FloatingPointError, match="at step 3; no checkpoint written"):
        train(cfg)
    assert not (tmp_path / "best.pt").exists() and not (tmp_path / "last.pt").exists()
