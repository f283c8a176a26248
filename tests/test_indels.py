"""Indels: left-normalisation (against bcftools norm), alternate windows, realignment rules."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import mixing_model
from stagevep.core.sequence import one_hot
from stagevep.geometry import Geometry
from stagevep.io.genome import open_fasta
from stagevep.io.variants import read_variants
from stagevep.variants.indels import indel_windows, left_normalize, masked_bins, realign
from stagevep.variants.score import score_with_model


def random_indels(fa, n: int, seed: int = 0, max_len: int = 12) -> list[tuple[str, int, str, str]]:
    """Deletions and insertions, many inside homopolymers and short repeats written right-shifted."""
    rng = np.random.default_rng(seed)
    names = list(fa.keys())
    out = []
    while len(out) < n:
        chrom = names[rng.integers(len(names))]
        pos = int(rng.integers(100, len(fa[chrom]) - 100))
        window = str(fa[chrom][pos - 1:pos - 1 + 40]).upper()
        if set(window) - set("ACGT"):
            continue
        k = int(rng.integers(1, max_len + 1))
        if rng.random() < 0.5:  # deletion of k bases after the anchor
            ref, alt = window[:k + 1], window[0]
        else:  # insertion: a copy of the next k bases (a repeat expansion) or random bases
            ins = window[1:k + 1] if rng.random() < 0.6 else "".join(rng.choice(list("ACGT"), size=k))
            ref, alt = window[0], window[0] + ins
        out.append((chrom, pos, ref, alt))
    return out


@pytest.mark.skipif(shutil.which("bcftools") is None, reason="bcftools (make setup) not installed")
def test_left_normalize_equals_bcftools_norm(tmp_path, test_data):
    fasta = test_data / "genome.fa"
    fa = open_fasta(fasta)
    variants = random_indels(fa, 300)
    vcf = tmp_path / "in.vcf"
    lines = ["##fileformat=VCFv4.2", *[f"##contig=<ID={c},length={len(fa[c])}>" for c in fa.keys()],
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    lines += [f"{c}\t{p}\tv{i}\t{r}\t{a}\t.\t.\t." for i, (c, p, r, a) in enumerate(variants)]
    vcf.write_text("\n".join(lines) + "\n")
    norm = subprocess.run(["bcftools", "norm", "-f", str(fasta), "--no-version", str(vcf)], capture_output=True,
                          text=True, check=True)
    expected = {f[2]: (int(f[1]), f[3], f[4]) for f in
                (ln.split("\t") for ln in norm.stdout.splitlines() if not ln.startswith("#"))}
    moved = 0
    for i, (c, p, r, a) in enumerate(variants):
        got = left_normalize(fa, c, p, r, a)
        assert got == expected[f"v{i}"], (c, p, r, a)
        moved += got[0] != p
    assert moved > 30, "too few variants needed shifting for the comparison to mean much"


def test_windows_by_string_operations(test_data):
    fa = open_fasta(test_data / "genome.fa")
    length, c = 200, 100
    for chrom, pos, ref, alt in random_indels(fa, 40, seed=1) + [("chr2", 30, "A", "ACGT"), ("chr2", 5, "TCGA", "T")]:
        genome = str(fa[chrom]).upper()
        p0 = pos - 1
        ref_w, left, right = indel_windows(fa, chrom, pos, ref, alt, length)
        padded = "N" * length + genome + "N" * length  # brute force with explicit padding

        def at(i: int, padded: str = padded) -> str:
            return padded[i + length]

        assert ref_w.upper() == "".join(at(p0 - c + i) for i in range(length))
        assert len(left) == len(right) == length
        assert left[:c] == ref_w[:c] and left[c:c + len(alt)] == alt
        assert left[c + len(alt):].upper() == "".join(at(p0 + len(ref) + i) for i in range(length - c - len(alt)))
        assert right[c + len(ref):] == ref_w[c + len(ref):]
        d = len(ref) - len(alt)
        assert right[c + d:c + d + len(alt)] == alt
        assert right[:c + d].upper() == "".join(at(p0 - c - d + i) for i in range(c + d))


def test_realign_rules():
    n_bins, flank, bin_size, centre = 8, 64, 16, 64 + 16 * 3 + 5  # REF starts 5 bases into bin 3
    left = np.arange(n_bins, dtype=float)[:, None] * np.ones((1, 2))
    right = -left
    # a 20-base deletion (REF 21 bases): bins 3 and 4 overlap REF [centre, centre + 21)
    assert masked_bins(n_bins, flank, bin_size, centre, 21).tolist() == [0, 0, 0, 1, 1, 0, 0, 0]
    out = realign(left, right, 21, 1, flank, bin_size, centre, "shift")
    np.testing.assert_array_equal(out[:5], left[:5])
    np.testing.assert_array_equal(out[5:], right[5:])
    out = realign(left, right, 21, 1, flank, bin_size, centre, "shift_mask")
    np.testing.assert_array_equal(out[:3], left[:3])
    assert np.isnan(out[3:5]).all()
    np.testing.assert_array_equal(out[5:], right[5:])
    # an insertion: only the anchor's bin is masked
    out = realign(left, right, 1, 9, flank, bin_size, centre, "shift_mask")
    assert np.isnan(out[3]).all() and not np.isnan(np.delete(out, 3, axis=0)).any()
    np.testing.assert_array_equal(out[4:], right[4:])
    # no shift: the left-anchored prediction as it is; substitutions are never shifted or masked
    np.testing.assert_array_equal(realign(left, right, 21, 1, flank, bin_size, centre, "none"), left)
    np.testing.assert_array_equal(realign(left, None, 3, 3, flank, bin_size, centre, "shift"), left)
    with pytest.raises(ValueError, match="indel_alignment must be one of shift, shift_mask, none"):
        realign(left, right, 2, 1, flank, bin_size, centre, "stitch")


# ---------------------------------------------------------------------------
# scoring indels
# ---------------------------------------------------------------------------

GEOM = Geometry(n_bins=16, bin_size=128, context_length=4096)
SMALL = Geometry(n_bins=8, bin_size=128, context_length=2048)  # brute force: a model call per window
MOTIF = "GATC"


class MotifCounter(torch.nn.Module):
    """An exactly translation-equivariant model: per output bin, the number of MOTIF matches starting in it
    (two tracks: the count and twice the count). It reads nothing but MOTIF."""

    def __init__(self, geometry: Geometry) -> None:
        super().__init__()
        self.g = geometry
        self.kernel = torch.from_numpy(one_hot(MOTIF).T.copy())[None]  # (1, 4, len)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hits = (torch.nn.functional.conv1d(x.transpose(1, 2), self.kernel) > len(MOTIF) - 0.5).float()[:, 0]
        hits = torch.nn.functional.pad(hits, (0, len(MOTIF) - 1))
        core = hits[:, self.g.flank:self.g.flank + self.g.n_bins * self.g.bin_size]
        counts = core.reshape(len(x), self.g.n_bins, self.g.bin_size).sum(-1)
        return torch.stack([counts, 2 * counts], dim=-1)


def motif_genome(path: Path, seed: int = 0) -> Path:
    """A 20-kb contig of random bases without MOTIF, with MOTIF planted every ~300 bp except in 9.7-10.4 kb."""
    rng = np.random.default_rng(seed)
    seq = list("".join(rng.choice(list("ACT"), size=20_000)))  # no G: no accidental GATC
    for start in list(range(500, 9700, 293)) + list(range(10_500, 19_500, 307)):
        seq[start:start + 4] = MOTIF
    path.write_text(">chrA\n" + "".join(seq) + "\n")
    return path


def test_deletion_the_model_cannot_see_changes_nothing_under_the_shift_rule(tmp_path):
    fa = open_fasta(motif_genome(tmp_path / "g.fa"))
    model = MotifCounter(GEOM)
    genome = str(fa["chrA"])
    rows = []
    for k, (pos, n) in enumerate([(10_001, 7), (9_800, 50), (10_200, 23), (10_300, 1)]):
        rows.append((f"del{k}", "chrA", pos, genome[pos - 1:pos + n], genome[pos - 1], ""))
        rows.append((f"ins{k}", "chrA", pos, genome[pos - 1], genome[pos - 1] + ("AC" * n)[:n], ""))
    table = pd.DataFrame(rows, columns=["id", "chrom", "pos", "ref", "alt", "group"])
    for rule in ("shift", "shift_mask"):
        shift = score_with_model(model, GEOM, ["a", "b"], fa, table, central_bins=16, batch_size=3,
                                 indel_alignment=rule)
        assert (shift["status"] == "ok").all()
        np.testing.assert_array_equal(shift[["a_delta_sum", "b_delta_sum", "a_delta_signal", "score"]].to_numpy(),
                                      0.0, err_msg=rule)
    # without the shift, a deletion moves the motifs right of it by d bases: counts leave bins and the window
    plain = score_with_model(model, GEOM, ["a", "b"], fa, table, central_bins=16, batch_size=3,
                             indel_alignment="none")
    assert (plain["score"] > 0).any()
    # and a deletion that removes a motif copy is a loss of exactly one count
    at = 10_500 + 307 * 3  # a planted copy: delete its 4 bases (after the anchor base before it)
    lost = pd.DataFrame([("hit", "chrA", at, genome[at - 1:at + 4], genome[at - 1], "")], columns=table.columns)
    hit = score_with_model(model, GEOM, ["a", "b"], fa, lost, central_bins=16, batch_size=3)
    assert hit.loc[0, "a_delta_sum"] == -1.0 and hit.loc[0, "b_delta_sum"] == -2.0
    # masking the bins the deletion occupies hides that loss: the copy sat in them
    masked = score_with_model(model, GEOM, ["a", "b"], fa, lost, central_bins=16, batch_size=3,
                              indel_alignment="shift_mask")
    assert masked.loc[0, "a_delta_sum"] == 0.0


def brute_force_scores(model, fa, table, central_bins, rc, alignment) -> pd.DataFrame:
    """Every window by string operations, one model call per window, realignment and summaries by hand."""
    L, c, flank, bs, n_bins = SMALL.context_length, SMALL.context_length // 2, SMALL.flank, SMALL.bin_size, SMALL.n_bins
    rows = []
    for v in table.itertuples(index=False):
        pos, ref, alt = left_normalize(fa, v.chrom, v.pos, v.ref, v.alt)
        genome = "N" * 10_000 + str(fa[v.chrom]) + "N" * 10_000
        p0 = pos - 1 + 10_000
        ref_w = genome[p0 - c:p0 - c + L]
        left_w = (genome[p0 - c:p0] + alt + genome[p0 + len(ref):])[:L]
        d = len(ref) - len(alt)
        right_w = (genome[p0 - c - d:p0] + alt + genome[p0 + len(ref):p0 - c + L])

        def predict(seq: str) -> np.ndarray:
            x = torch.from_numpy(one_hot(seq))[None]
            with torch.no_grad():
                y = model(x)[0].numpy().astype(np.float64)
                if rc:
                    y = 0.5 * (y + model(x.flip(1).flip(2))[0].numpy()[::-1])
            return y

        r, a_left = predict(ref_w), predict(left_w)
        a = a_left.copy()
        if alignment != "none" and d != 0:
            a_right = predict(right_w)
            for b in range(n_bins):
                start = flank + b * bs
                if start >= c + len(ref):
                    a[b] = a_right[b]
                elif start + bs > c and alignment == "shift_mask":
                    a[b] = np.nan
        lo = n_bins // 2 - central_bins // 2
        rr, aa = r[lo:lo + central_bins], a[lo:lo + central_bins]
        keep = ~np.isnan(aa[:, 0])
        rows.append({"id": v.id, **{f"t{t}_delta_sum": (aa[keep, t] - rr[keep, t]).sum() for t in range(r.shape[1])},
                     **{f"t{t}_abs_log2fc": np.abs(np.log2((aa[keep, t] + 1e-3) / (rr[keep, t] + 1e-3))).mean()
                        for t in range(r.shape[1])}})
    return pd.DataFrame(rows)


@pytest.mark.parametrize(("rc", "alignment"), [(False, "shift"), (True, "shift"), (True, "shift_mask"),
                                               (False, "none")])
def test_batched_indel_scores_equal_brute_force(test_data, rc, alignment):
    fa = open_fasta(test_data / "genome.fa")
    rng = np.random.default_rng(7)
    rows = []
    for k, (chrom, pos, ref, alt) in enumerate(random_indels(fa, 10, seed=11, max_len=50)):
        rows.append((f"v{k}", chrom, pos, ref, alt, ""))
    # an MNV and a right-shifted deletion in a homopolymer
    rows.append(("mnv", "chr2", 5000, str(fa["chr2"][4999:5002]).upper(), "".join(rng.choice(list("ACGT"), 3)), ""))
    table = pd.DataFrame(rows, columns=["id", "chrom", "pos", "ref", "alt", "group"])
    table = table[table["ref"] != table["alt"]].reset_index(drop=True)
    model = mixing_model(SMALL, 3, seed=2)
    got = score_with_model(model, SMALL, ["t0", "t1", "t2"], fa, table, central_bins=6, batch_size=4,
                           rc_ensemble=rc, indel_alignment=alignment)
    assert (got["status"] == "ok").all(), got[["id", "status"]]
    want = brute_force_scores(model, fa, table, 6, rc, alignment)
    for col in want.columns.drop("id"):
        # float32 predictions of order 1, batched or alone: sums of differences agree to ~1e-5
        np.testing.assert_allclose(got[col].to_numpy(), want[col].to_numpy(), rtol=1e-3, atol=2e-5, err_msg=col)
    assert got["t0_abs_log2fc"].max() > 1e-3, "effects at rounding level would make the comparison vacuous"


def test_real_world_vcf_indels_are_scored_or_get_a_status(tmp_path, test_data):
    """A VCF as a caller writes it: right-shifted indels in repeats, a long deletion, symbolic and breakend
    alleles, a multi-allelic record mixing an SNV and an indel, a REF that disagrees with the genome."""
    fa = open_fasta(test_data / "genome.fa")
    g = lambda a, b: str(fa["chr2"][a - 1:b]).upper()  # noqa: E731 (1-based inclusive)
    lines = ["##fileformat=VCFv4.2", "##contig=<ID=chr2>", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    records = [
        ("d1", 3000, g(3000, 3002), g(3000, 3000)),
        ("i1", 4000, g(4000, 4000), g(4000, 4000) + g(4001, 4003)),  # repeat expansion: needs left-shifting
        ("long", 6000, g(6000, 6080), g(6000, 6000)),  # 80-bp deletion: too long by default
        ("sym", 7000, g(7000, 7000), "<DEL>"),
        ("bnd", 7100, g(7100, 7100), g(7100, 7100) + "[chr2:9000["),
        ("multi", 8000, g(8000, 8001), ",".join(sorted({("A" if g(8000, 8000) != "A" else "C") + g(8001, 8001),
                                                          g(8000, 8000)}))),
        ("bad", 9000, "GGGG" if g(9000, 9003) != "GGGG" else "CCCC", "G"),
    ]
    for vid, pos, ref, alt in records:
        lines.append(f"chr2\t{pos}\t{vid}\t{ref}\t{alt}\t.\t.\t.")
    vcf = tmp_path / "caller.vcf"
    vcf.write_text("\n".join(lines) + "\n")
    table = read_variants(vcf)
    model = mixing_model(GEOM, 2)
    out = score_with_model(model, GEOM, ["a", "b"], fa, table, central_bins=4, batch_size=2)
    status = dict(zip(out["id"], out["status"], strict=True))
    assert status["d1"] == status["i1"] == "ok"
    assert status["long"] == "indel_too_long" and status["sym"] == status["bnd"] == "unsupported_allele"
    assert status["bad"] == "ref_mismatch"
    assert [s for i, s in status.items() if i.startswith("multi")] == ["ok", "ok"]
    assert out.loc[out["status"] == "ok", "score"].notna().all()
    assert out.loc[out["status"] != "ok", "score"].isna().all()
    longer = score_with_model(model, GEOM, ["a", "b"], fa, table, central_bins=4, batch_size=2, max_indel_length=100)
    assert dict(zip(longer["id"], longer["status"], strict=True))["long"] == "ok"
