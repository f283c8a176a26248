"""Why a variant matters: in-silico mutagenesis and gradient x input around it, per stage.

For a variant at 1-based ``pos`` the model's window is the one it is scored in (the variant at index
``context_length // 2``). The quantity explained, per stage ``t``, is the sum of the prediction over the
variant's central bins, ``f_t(x) = sum_{b in central} model(x)[b, t]`` (target space).

- **ISM** (:func:`ism`): every base within ``flank`` bp of the variant changed to each of the three others,
  on the reference sequence; ``ism[p, b, t] = f_t(mutant) - f_t(ref)`` (0 where ``b`` is the reference
  base). One reference pass; the mutants go through the model in batches. The reference base's
  contribution, drawn as the logo, is ``-mean over the three mutants``.
- **Gradient x input** (:func:`gradient_x_input`, captum's ``InputXGradient``) of ``f_t`` on the reference
  and on the alternate window: ``x * df_t/dx``, non-zero only at each window's own bases.

Both are ``(2 * flank + 1, 4, n_tracks)`` arrays over genome positions ``pos - flank .. pos + flank``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pyfaidx
import torch
from torch import nn

from stagevep import __version__
from stagevep.core.sequence import one_hot
from stagevep.errors import InputError
from stagevep.geometry import Geometry, resolve_central_bins
from stagevep.io.files import atomic_path
from stagevep.io.genome import open_fasta
from stagevep.model.checkpoint import checkpoint_geometry, load_checkpoint
from stagevep.model.predict import resolve_device
from stagevep.plots.attribution import plot_attribution
from stagevep.variants.sequences import variant_sequences
from stagevep.variants.shared import shared_predictions
from stagevep.variants.summary import central_slice

log = logging.getLogger(__name__)

BASES = "ACGT"


def _window(x: np.ndarray, centre: int, flank: int) -> slice:
    return slice(centre - flank, centre + flank + 1)


def ism(model: nn.Module, x: np.ndarray, flank: int, central: slice, batch_size: int = 16,
        device: torch.device | None = None, precision: str = "auto") -> np.ndarray:
    """In-silico mutagenesis of ``x`` ``(L, 4)`` within ``flank`` of its centre: ``(2 * flank + 1, 4, n_tracks)``.

    Entry ``[p, b, t]`` is ``f_t`` of the mutant with base ``b`` at position ``centre - flank + p`` minus
    ``f_t`` of ``x`` (``f_t``: the prediction summed over the ``central`` bins); 0 at the reference base.
    The mutants share one reference pass (:func:`~stagevep.variants.shared.shared_predictions`).
    """
    device = device or torch.device("cpu")
    centre = x.shape[0] // 2
    positions = np.arange(centre - flank, centre + flank + 1)
    # every base but the reference's (all four at N), scored against one reference pass
    mutants = [(int(p), b) for p in positions for b in range(4) if not x[p, b]]
    indices = np.array([p for p, _ in mutants])
    bases = np.array([b for _, b in mutants])
    ref, alt = shared_predictions(model, x, indices, bases, batch_size, device, precision)
    f_ref = ref[central].sum(axis=0)
    f_mut = alt[:, central].sum(axis=1)
    out = np.zeros((len(positions), 4, ref.shape[-1]))
    out[indices - positions[0], bases] = f_mut - f_ref
    return out


def gradient_x_input(model: nn.Module, x: np.ndarray, flank: int, central: slice,
                     device: torch.device | None = None) -> np.ndarray:
    """captum ``InputXGradient`` of ``f_t`` for every track, cut to ``flank`` of the centre:
    ``(2 * flank + 1, 4, n_tracks)`` (fp32, eval mode)."""
    from captum.attr import InputXGradient

    device = device or torch.device("cpu")
    model.eval()
    inputs = torch.from_numpy(x[None]).to(device)
    with torch.no_grad():
        n_tracks = int(model(inputs).shape[-1])
    rows = []
    for t in range(n_tracks):
        def forward(inp: torch.Tensor, track: int = t) -> torch.Tensor:
            return model(inp)[:, central, track].sum(dim=1)

        attr = InputXGradient(forward).attribute(inputs.clone().requires_grad_(True))
        rows.append(attr[0].detach().cpu().numpy().astype(np.float64))
    full = np.stack(rows, axis=-1)  # (L, 4, n_tracks)
    return full[_window(x, x.shape[0] // 2, flank)]


def reference_contribution(ism_scores: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Logo heights from ISM: at each position, ``-mean`` of the three mutants' effects on the reference base's
    row, zero elsewhere. ``ism_scores`` ``(P, 4, T)``, ``x`` the window's one-hot ``(P, 4)``; returns ``(P, 4, T)``."""
    n_alt = np.maximum((1 - x).sum(axis=1, keepdims=True), 1)
    mean_alt = ism_scores.sum(axis=1, keepdims=True) / n_alt[..., None]
    return -mean_alt * x[..., None]


def attribute_variant(
    model: nn.Module, geometry: Geometry, fa: pyfaidx.Fasta, chrom: str, pos: int, alt: str, flank: int,
    central_bins: int, batch_size: int = 16, device: torch.device | None = None, precision: str = "auto",
) -> dict[str, np.ndarray]:
    """ISM (on the reference) and gradient x input (reference and alternate) of one SNV at 1-based ``pos``.

    Returns ``ism``, ``ism_contribution`` (:func:`reference_contribution`), ``grad_ref``, ``grad_alt``
    (each ``(2 * flank + 1, 4, n_tracks)``) and ``onehot_ref``, ``onehot_alt`` (``(2 * flank + 1, 4)``).
    """
    if not 0 <= flank < geometry.context_length // 2:
        raise InputError(f"--ism-flank must be between 0 and {geometry.context_length // 2 - 1}, got {flank}")
    central = central_slice(geometry.n_bins, central_bins)
    ref_seq, alt_seq = variant_sequences(fa, chrom, pos, alt, geometry.context_length)
    x_ref, x_alt = one_hot(ref_seq), one_hot(alt_seq)
    win = _window(x_ref, geometry.context_length // 2, flank)
    scores = ism(model, x_ref, flank, central, batch_size, device, precision)
    return {
        "ism": scores,
        "ism_contribution": reference_contribution(scores, x_ref[win]),
        "grad_ref": gradient_x_input(model, x_ref, flank, central, device),
        "grad_alt": gradient_x_input(model, x_alt, flank, central, device),
        "onehot_ref": x_ref[win],
        "onehot_alt": x_alt[win],
    }


def write_attribution(path: str | Path, result: dict[str, np.ndarray], attrs: dict) -> None:
    """``<id>.h5``: the arrays of :func:`attribute_variant` (float32) and ``attrs``; written atomically."""
    with atomic_path(Path(path)) as tmp, h5py.File(tmp, "w") as h5:
        for name, values in result.items():
            h5.create_dataset(name, data=np.asarray(values, dtype=np.float32))
        h5.attrs.update({"bases": BASES, "stagevep_version": __version__, **attrs})


def attribute_variant_file(
    checkpoint: str | Path, fasta: str | Path, scores_tsv: str | Path, out_dir: str | Path, *,
    ids: Sequence[str] = (), top_n: int = 0, flank: int = 20, central_bins: int | None = None, batch_size: int = 16,
    device: str = "auto", precision: str = "auto",
) -> list[Path]:
    """Attribution of the variants ``ids`` plus the ``top_n`` highest ``score`` s of ``scores_tsv`` (SNVs with
    status ``ok``): ``out_dir/<id>.h5`` and ``out_dir/<id>.png``/``.pdf``. Returns the h5 paths."""
    scores = pd.read_csv(scores_tsv, sep="\t", dtype={"chrom": str, "id": str}, keep_default_na=False,
                         na_values=["NA"])
    missing = sorted(set(ids) - set(scores["id"]))
    if missing:
        raise InputError(f"variant ID(s) to attribute not found in {scores_tsv}: {missing[:5]}")
    snv = (scores["status"] == "ok") & (scores["ref"].str.len() == 1) & (scores["alt"].str.len() == 1)
    bad = [i for i in ids if not snv[scores["id"] == i].any()]
    if bad:
        raise InputError(f"attribution needs scored SNVs; not one: {bad[:5]} (indels and unscored variants "
                         "are not attributed)")
    ranked = scores[snv].sort_values("score", ascending=False, kind="stable")["id"].tolist()
    chosen = list(dict.fromkeys([*ids, *[i for i in ranked if i not in ids][:top_n]]))
    dev = resolve_device(device)
    model, ckpt = load_checkpoint(checkpoint, dev)
    geometry, tracks = checkpoint_geometry(ckpt), list(ckpt["tracks"])
    central_bins = resolve_central_bins(central_bins, geometry)
    fa = open_fasta(fasta)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    by_id = scores.set_index("id")
    written = []
    for vid in chosen:
        v = by_id.loc[vid]
        result = attribute_variant(model, geometry, fa, str(v["chrom"]), int(v["pos"]), str(v["alt"]), flank,
                                   central_bins, batch_size, dev, precision)
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", vid)
        start = int(v["pos"]) - flank
        write_attribution(out / f"{name}.h5", result, {
            "id": vid, "chrom": str(v["chrom"]), "pos": int(v["pos"]), "ref": str(v["ref"]), "alt": str(v["alt"]),
            "start": start, "flank": flank, "tracks": tracks, "central_bins": central_bins,
            "quantity": "prediction summed over the central bins (target space)",
            "methods": "ism: mutant - reference; grad_*: captum InputXGradient"})
        plot_attribution(out / name, result, tracks, start, int(v["pos"]),
                         f"{vid} {v['chrom']}:{int(v['pos'])} {v['ref']}>{v['alt']} (largest effect "
                         f"{v.get('effect_stage', '')})")
        written.append(out / f"{name}.h5")
    log.info("attribution of %d variant(s) in %s", len(written), out)
    return written
