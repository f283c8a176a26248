"""WindowDataset: deterministic per-item augmentation (shift, reverse complement), N padding."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader

from conftest import fasta_text
from stagevep.core.sequence import one_hot, reverse_complement_onehot
from stagevep.data.dataset import WindowDataset, context_start, shift_bins
from stagevep.errors import InputError
from stagevep.geometry import Geometry
from stagevep.io.genome import fasta_lengths

GEOM = Geometry(n_bins=16, bin_size=128, context_length=4096)


@pytest.fixture(scope="module")
def windows(test_data):
    """40 target windows spread over the bundled genome, plus targets that differ in every bin and track."""
    lengths = fasta_lengths(test_data / "genome.fa")
    rows = []
    for chrom, length in lengths.items():
        for centre in np.linspace(GEOM.target_length, length - GEOM.target_length, 10).astype(int):
            rows.append((chrom, centre - GEOM.target_length // 2, centre + GEOM.target_length // 2))
    w = pd.DataFrame(rows, columns=["chrom", "start", "end"])
    y = np.arange(len(w) * GEOM.n_bins * 3, dtype=np.float32).reshape(len(w), GEOM.n_bins, 3)
    return w, y


def test_augmentation_off_by_default(windows, test_data):
    w, y = windows
    ds = WindowDataset(test_data / "genome.fa", w, y, GEOM, seed=3)
    ds.set_epoch(5)
    for i in range(len(ds)):
        assert ds.augmentation(i) == (0, False, 0)
    x, yi = ds[7]
    torch.testing.assert_close(yi, torch.from_numpy(y[7]))


def test_shift_moves_context_and_keeps_targets(windows, test_data):
    w, y = windows
    ds = WindowDataset(test_data / "genome.fa", w, y, GEOM, max_shift=3, seed=0)
    seen = set()
    for epoch in range(6):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            shift, rc, bins = ds.augmentation(i)
            assert -3 <= shift <= 3 and rc is False and bins == 0
            seen.add(shift)
    assert seen == set(range(-3, 4))
    i = 4
    chrom = w.loc[i, "chrom"]
    genome = fasta_text(test_data / "genome.fa")[chrom].upper()
    for epoch in range(20):
        ds.set_epoch(epoch)
        shift, _, _ = ds.augmentation(i)
        if shift:
            break
    start = context_start(int(w.loc[i, "start"]), int(w.loc[i, "end"]), GEOM.context_length) + shift
    x, yi = ds[i]
    np.testing.assert_array_equal(x.numpy(), one_hot(genome[start : start + GEOM.context_length]))
    np.testing.assert_array_equal(yi.numpy(), y[i])


def test_reverse_complement_reverses_targets_along_bins(windows, test_data):
    w, y = windows
    plain = WindowDataset(test_data / "genome.fa", w, y, GEOM)
    ds = WindowDataset(test_data / "genome.fa", w, y, GEOM, rc_augment=True, seed=1)
    n_rc = 0
    for i in range(len(ds)):
        _, rc, _ = ds.augmentation(i)
        x, yi = ds[i]
        x0, y0 = plain[i]
        if rc:
            n_rc += 1
            np.testing.assert_array_equal(yi.numpy(), y[i][::-1])  # bins reversed, tracks kept
            np.testing.assert_array_equal(x.numpy(), x0.numpy()[::-1, ::-1])  # A<->T, C<->G, reversed
        else:
            np.testing.assert_array_equal(yi.numpy(), y[i])
            np.testing.assert_array_equal(x.numpy(), x0.numpy())
    assert 0 < n_rc < len(ds)


def test_augmentation_identical_across_workers_and_changes_with_epoch(windows, test_data):
    """Item i's draw depends on (seed, epoch, i) only: 0 or 2 DataLoader workers, any order, same result."""
    w, y = windows
    ds = WindowDataset(test_data / "genome.fa", w, y, GEOM, rc_augment=True, max_shift=3, seed=7)
    ds.set_epoch(2)
    direct = [ds[i] for i in range(len(ds))]
    for workers in (0, 2):
        loader = DataLoader(ds, batch_size=5, shuffle=False, num_workers=workers)
        xs, ys = zip(*loader, strict=True)
        torch.testing.assert_close(torch.cat(xs), torch.stack([d[0] for d in direct]))
        torch.testing.assert_close(torch.cat(ys), torch.stack([d[1] for d in direct]))
    reversed_order = [ds[i] for i in reversed(range(len(ds)))][::-1]
    for (a, b), (c, d) in zip(direct, reversed_order, strict=True):
        assert torch.equal(a, c) and torch.equal(b, d)
    draws = {}
    for epoch in (2, 3, 2):
        ds.set_epoch(epoch)
        current = [ds.augmentation(i) for i in range(len(ds))]
        assert draws.setdefault(epoch, current) == current  # returning to an epoch repeats its draws
    assert draws[2] != draws[3]
    other_seed = WindowDataset(test_data / "genome.fa", w, y, GEOM, rc_augment=True, max_shift=3, seed=8)
    other_seed.set_epoch(2)
    assert [other_seed.augmentation(i) for i in range(len(ds))] != draws[2]


def test_shift_bins_by_hand():
    y = np.arange(12, dtype=np.float32).reshape(6, 2)
    np.testing.assert_array_equal(shift_bins(y, 2)[:4], y[2:])
    assert np.isnan(shift_bins(y, 2)[4:]).all()
    np.testing.assert_array_equal(shift_bins(y, -1)[1:], y[:5])
    assert np.isnan(shift_bins(y, -1)[0]).all()
    np.testing.assert_array_equal(shift_bins(y, 0), y)


def test_bin_shift_moves_context_and_targets_together(windows, test_data):
    """A shift of k bins: the context starts k * bin_size bp later and target bin j is the old bin j + k."""
    w, y = windows
    ds = WindowDataset(test_data / "genome.fa", w, y, GEOM, max_bin_shift=5, seed=2)
    plain = WindowDataset(test_data / "genome.fa", w, y, GEOM)
    fa = fasta_text(test_data / "genome.fa")
    seen = set()
    for epoch in range(4):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            shift, rc, bins = ds.augmentation(i)
            assert shift == 0 and rc is False and -5 <= bins <= 5
            seen.add(bins)
            x, yi = ds[i]
            start = context_start(int(w.loc[i, "start"]), int(w.loc[i, "end"]), GEOM.context_length)
            start += bins * GEOM.bin_size
            seq = fa[w.loc[i, "chrom"]].upper()
            expected = "".join(seq[p] if 0 <= p < len(seq) else "N" for p in range(start, start + GEOM.context_length))
            np.testing.assert_array_equal(x.numpy(), one_hot(expected))
            known = ~np.isnan(yi.numpy()).any(axis=1)
            assert known.sum() == GEOM.n_bins - abs(bins)
            np.testing.assert_array_equal(yi.numpy()[known], plain[i][1].numpy()[np.flatnonzero(known) + bins])
    assert seen == set(range(-5, 6))
    with pytest.raises(InputError, match="max-bin-shift"):
        WindowDataset(test_data / "genome.fa", w, y, GEOM, max_bin_shift=GEOM.n_bins)


def test_negative_shift_rejected(windows, test_data):
    w, y = windows
    with pytest.raises(InputError, match="max-shift"):
        WindowDataset(test_data / "genome.fa", w, y, GEOM, max_shift=-1)


def test_reverse_complement_onehot_is_complement_of_reversed():
    seq = "ACGTTNGA"
    comp = {"A": "T", "C": "G", "G": "C", "T": "A", "N": "N"}
    rc = "".join(comp[b] for b in reversed(seq))
    np.testing.assert_array_equal(reverse_complement_onehot(torch.from_numpy(one_hot(seq))).numpy(), one_hot(rc))
