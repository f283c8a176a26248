"""Indels: left-normalisation (against bcftools norm), alternate windows, realignment rules."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from stagevep.io.genome import open_fasta
from stagevep.variants.indels import indel_windows, left_normalize, masked_bins, realign


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
    out = realign(left, right, 21, 1, flank, bin_size, centre, "shift")
    assert masked_bins(n_bins, flank, bin_size, centre, 21).tolist() == [0, 0, 0, 1, 1, 0, 0, 0]
    np.testing.assert_array_equal(out[:3], left[:3])
    assert np.isnan(out[3:5]).all()
    np.testing.assert_array_equal(out[5:], right[5:])
    # an insertion: only the anchor's bin is masked
    out = realign(left, right, 1, 9, flank, bin_size, centre, "shift")
    assert np.isnan(out[3]).all() and not np.isnan(np.delete(out, 3, axis=0)).any()
    np.testing.assert_array_equal(out[4:], right[4:])
    # no shift: the left-anchored prediction as it is; substitutions are never shifted or masked
    np.testing.assert_array_equal(realign(left, right, 21, 1, flank, bin_size, centre, "none"), left)
    np.testing.assert_array_equal(realign(left, None, 3, 3, flank, bin_size, centre, "shift"), left)
    with pytest.raises(ValueError, match="indel_alignment must be one of shift, none"):
        realign(left, right, 2, 1, flank, bin_size, centre, "stitch")
