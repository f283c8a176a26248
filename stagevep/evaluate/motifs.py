"""The motifs behind each stage: attribution over held-out windows, motif discovery, stage contributions.

1. For every window of the chosen split (from the checkpoint), the gradient of each stage's predicted
   signal in its own units (``expm1`` of a ``log1p`` prediction, summed over all bins: the quantity in
   which the synthetic grammar is additive and ``S_delta_signal`` is measured) with respect to the
   one-hot input, over the ``half_width`` bases on each side of the window centre:
   ``(N, n_stages, 2 * half_width, 4)``.
2. TF-MoDISco (modisco-lite) on the stage-averaged hypothetical contributions (gradients centred over the
   four bases) finds the recurring patterns.
3. Each pattern's contribution at stage ``t`` is measured by occlusion: the mean, over its seqlets, of the
   drop in stage ``t``'s predicted signal (own units, summed over the bins) when the seqlet's bases are
   replaced by random ones (seeded). Its stage specificity is ``(max_t c_t - min_t c_t) / max_t |c_t|``
   (0 for a motif that works alike at every stage, 1 or more when one stage alone uses it). Gradients find
   the motifs; occlusion, a real change of the sequence, says what each does at each stage.
4. With a motif database (a MEME file, or JASPAR CORE vertebrates from pyjaspar), every pattern is matched
   with TOMTOM (memelite); q-values are
   Benjamini-Hochberg over all pattern x database pairs.
"""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import false_discovery_control
from torch import nn

from stagevep.core.sequence import one_hot
from stagevep.errors import InputError
from stagevep.geometry import Geometry
from stagevep.io.files import atomic_path
from stagevep.io.genome import fetch_padded, open_fasta
from stagevep.model.checkpoint import checkpoint_geometry, checkpoint_windows, load_checkpoint
from stagevep.model.predict import resolve_device
from stagevep.progress import progress

log = logging.getLogger(__name__)
BASES = "ACGT"


def window_gradients(model: nn.Module, geometry: Geometry, fa, windows: pd.DataFrame, half_width: int,
                     batch_size: int = 8, device: torch.device | None = None,
                     transform: str = "log1p") -> tuple[np.ndarray, np.ndarray]:
    """The full one-hot windows ``(N, L, 4)`` and per-stage input gradients
    ``(N, n_stages, 2 * half_width, 4)`` of the stage's predicted signal (``expm1`` of the prediction for
    ``log1p`` targets) summed over the bins (eval mode, fp32)."""
    device = device or torch.device("cpu")
    L = geometry.context_length
    if not 0 < half_width <= L // 2:
        raise InputError(f"--motif_half_width must be between 1 and {L // 2}, got {half_width}")
    lo, hi = L // 2 - half_width, L // 2 + half_width
    seqs = np.stack([one_hot(fetch_padded(fa, str(r.chrom), int(r.centre) - L // 2, int(r.centre) - L // 2 + L))
                     for r in windows.itertuples(index=False)])
    model.eval()
    grads = []
    for i in progress(range(0, len(seqs), batch_size), desc="motif attribution", unit="batch"):
        x = torch.from_numpy(seqs[i:i + batch_size]).to(device).requires_grad_(True)
        y = model(x)
        if transform == "log1p":
            y = torch.expm1(y)
        per_stage = []
        for t in range(y.shape[-1]):
            (g,) = torch.autograd.grad(y[..., t].sum(), x, retain_graph=t < y.shape[-1] - 1)
            per_stage.append(g[:, lo:hi].detach().cpu().numpy())
        grads.append(np.stack(per_stage, axis=1))
    return seqs, np.concatenate(grads)


def discover_patterns(onehot: np.ndarray, grads: np.ndarray, **modisco_args) -> list:
    """modisco-lite's positive patterns for the stage-averaged hypothetical contributions."""
    from modiscolite import tfmodisco

    hyp = grads.mean(axis=1)
    hyp = hyp - hyp.mean(axis=-1, keepdims=True)
    settings = {"sliding_window_size": 12, "flank_size": 4, "target_seqlet_fdr": 0.05,
                "max_seqlets_per_metacluster": 5000, "final_min_cluster_size": 10, "min_metacluster_size": 20,
                "n_leiden_runs": 4, **modisco_args}
    pos, _neg = tfmodisco.TFMoDISco(one_hot=onehot.astype(np.float32), hypothetical_contribs=hyp.astype(np.float32),
                                    **settings)
    return list(pos or [])


@torch.no_grad()
def stage_contributions(pattern, seqs: np.ndarray, offset: int, model: nn.Module, transform: str = "log1p",
                        batch_size: int = 8, device: torch.device | None = None, seed: int = 0) -> np.ndarray:
    """Occlusion: mean over the pattern's seqlets of ``F_t(window) - F_t(window with the seqlet randomised)``,
    ``(n_stages,)``; ``seqs`` are the full windows ``(N, L, 4)``, seqlet coordinates start at ``offset``."""
    device = device or torch.device("cpu")
    rng = np.random.default_rng(seed)

    def signal(x: np.ndarray) -> np.ndarray:
        y = model(torch.from_numpy(x).to(device)).double()
        return (torch.expm1(y) if transform == "log1p" else y).sum(dim=1).cpu().numpy()

    drops = []
    seqlets = list(pattern.seqlets)
    for i in range(0, len(seqlets), batch_size):
        chunk = seqlets[i:i + batch_size]
        ref = seqs[[s.example_idx for s in chunk]]
        occluded = ref.copy()
        for k, s in enumerate(chunk):
            span = slice(offset + max(0, s.start), offset + s.end)
            n = span.stop - span.start
            occluded[k, span] = np.eye(4, dtype=np.float32)[rng.integers(4, size=n)]
        drops.append(signal(ref) - signal(occluded))
    return np.concatenate(drops).mean(axis=0)


def read_meme(path: str | Path) -> dict[str, np.ndarray]:
    """Motif name -> PPM ``(4, length)`` from a MEME text file (``MOTIF`` lines, ``letter-probability``)."""
    motifs, name, rows = {}, None, []
    path = Path(path)
    if not path.exists():
        raise InputError(f"motif database not found: {path} (a MEME file, e.g. JASPAR's 'MEME' download)")
    for line in path.read_text().splitlines():
        fields = line.split()
        if line.startswith("MOTIF"):
            if name and rows:
                motifs[name] = np.array(rows).T
            name, rows = " ".join(fields[1:3]) if len(fields) > 2 else fields[1], []
        elif name and len(fields) == 4:
            try:
                rows.append([float(f) for f in fields])
            except ValueError:
                continue
    if name and rows:
        motifs[name] = np.array(rows).T
    if not motifs:
        raise InputError(f"{path} holds no MEME motifs ('MOTIF name' lines followed by letter-probability rows)")
    return motifs


#: ``--motif_database`` values that name the JASPAR database shipped by pyjaspar (``jaspar``: its newest release)
JASPAR_NAME = re.compile(r"(?i)^jaspar(\d{4})?$")


def jaspar_motifs(release: str | None = None) -> dict[str, np.ndarray]:
    """JASPAR CORE vertebrate motifs from pyjaspar's bundled database: ``"MA0004.1 Arnt"`` -> PPM ``(4, length)``
    (counts over their column sums). ``release`` e.g. ``"JASPAR2024"``; None: pyjaspar's newest."""
    from pyjaspar import jaspardb

    db = jaspardb()
    releases = list(db.get_releases())
    if release is not None:
        if release.upper() not in releases:
            raise InputError(f"--motif_database {release}: this pyjaspar has the releases {', '.join(releases)}; "
                             f"give one of them, 'jaspar' (the newest) or a MEME file")
        db = jaspardb(release=release.upper())
    motifs = {}
    for m in db.fetch_motifs(collection="CORE", tax_group=["vertebrates"]):
        counts = np.array([m.counts[b] for b in BASES], dtype=np.float64)
        motifs[f"{m.matrix_id} {m.name}"] = counts / counts.sum(axis=0, keepdims=True)
    return motifs


def motif_database(spec: str | Path) -> dict[str, np.ndarray]:
    """The motifs of ``--motif_database``: ``jaspar`` / ``JASPAR<year>`` (:func:`jaspar_motifs`) or a MEME file
    (:func:`read_meme`). Name -> PPM ``(4, length)``."""
    match = JASPAR_NAME.match(str(spec))
    if match and not Path(spec).exists():
        return jaspar_motifs(f"JASPAR{match.group(1)}" if match.group(1) else None)
    return read_meme(spec)


def write_meme(path: str | Path, motifs: dict[str, np.ndarray]) -> None:
    """MEME text file of PPMs ``(4, length)``."""
    lines = ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", "",
             "Background letter frequencies", "A 0.25 C 0.25 G 0.25 T 0.25", ""]
    for name, ppm in motifs.items():
        lines += [f"MOTIF {name}", f"letter-probability matrix: alength= 4 w= {ppm.shape[1]}"]
        lines += [" ".join(f"{v:.4f}" for v in col) for col in ppm.T] + [""]
    with atomic_path(Path(path)) as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def discover_motifs_file(checkpoint: str | Path, fasta: str | Path, out_dir: str | Path, *, split: str = "test",
                         half_width: int = 512, database: str | Path | None = None, batch_size: int = 8,
                         device: str = "auto") -> pd.DataFrame:
    """Write ``motifs.tsv``, ``motifs.meme`` and ``stage_contributions.{png,pdf}`` to ``out_dir``.

    ``motifs.tsv``: one row per discovered pattern, ranked by stage specificity: ``pattern``, ``n_seqlets``,
    ``consensus``, ``contribution_<stage>``, ``stage_specificity``, ``top_stage`` and, with ``database``,
    ``best_match``, ``match_pvalue``, ``match_qvalue``.
    """
    dev = resolve_device(device)
    model, ckpt = load_checkpoint(checkpoint, dev)
    geometry, tracks = checkpoint_geometry(ckpt), list(ckpt["tracks"])
    windows = checkpoint_windows(ckpt, checkpoint)
    windows = windows[windows["split"] == split]
    if windows.empty:
        raise InputError(f"{checkpoint} has no '{split}' windows to discover motifs in")
    transform = ckpt["target_transform"]["transform"]
    seqs, grads = window_gradients(model, geometry, open_fasta(fasta), windows, half_width, batch_size, dev,
                                   transform=transform)
    offset = geometry.context_length // 2 - half_width
    patterns = discover_patterns(seqs[:, offset:offset + 2 * half_width], grads)
    rows, ppms = [], {}
    for k, p in enumerate(patterns):
        contrib = stage_contributions(p, seqs, offset, model, transform, batch_size, dev, seed=k)
        peak = np.abs(contrib).max()
        name = f"pattern_{k}"
        ppms[name] = np.asarray(p.sequence).T
        rows.append({"pattern": name, "n_seqlets": len(p.seqlets),
                     "consensus": "".join(BASES[i] for i in np.asarray(p.sequence).argmax(axis=1)),
                     **{f"contribution_{t}": c for t, c in zip(tracks, contrib, strict=True)},
                     "stage_specificity": float((contrib.max() - contrib.min()) / peak) if peak > 0 else np.nan,
                     "top_stage": tracks[int(np.argmax(contrib))]})
    table = pd.DataFrame(rows)
    if database is not None and len(table):
        from memelite import tomtom

        db = motif_database(database)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # memelite warns for databases under 50 motifs
            pvals = np.asarray(tomtom([ppms[n] for n in table["pattern"]], list(db.values()))[0])
        q = false_discovery_control(pvals.ravel(), method="bh").reshape(pvals.shape)
        best = pvals.argmin(axis=1)
        names = list(db)
        table["best_match"] = [names[j] for j in best]
        table["match_pvalue"] = pvals[np.arange(len(best)), best]
        table["match_qvalue"] = q[np.arange(len(best)), best]
    if len(table):
        table = table.sort_values("stage_specificity", ascending=False, kind="stable").reset_index(drop=True)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "motifs.tsv") as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.4g")
    write_meme(out / "motifs.meme", ppms)
    from stagevep.plots.attribution import plot_stage_contributions

    plot_stage_contributions(out / "stage_contributions", table, tracks, ppms)
    log.info("%d pattern(s) from %d %s windows in %s", len(table), len(windows), split, out)
    return table
