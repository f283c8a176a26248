"""Motif databases for TOMTOM matching: MEME files and the JASPAR matrices bundled with pyjaspar."""

import numpy as np
import pytest

from stagevep.errors import InputError
from stagevep.evaluate.motifs import motif_database, read_meme, write_meme


def test_meme_round_trip(tmp_path):
    motifs = {"m1 ONE": np.array([[0.7, 0.1], [0.1, 0.1], [0.1, 0.7], [0.1, 0.1]]),
              "m2": np.full((4, 3), 0.25)}
    write_meme(tmp_path / "db.meme", motifs)
    back = motif_database(tmp_path / "db.meme")
    assert list(back) == list(motifs)
    for name in motifs:
        np.testing.assert_allclose(back[name], motifs[name], atol=1e-4)


def test_missing_meme_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="motif database not found"):
        read_meme(tmp_path / "absent.meme")


def test_jaspar_gives_ppms_that_tomtom_matches():
    """JASPAR's own CTCF matrix, taken from pyjaspar directly and perturbed, is matched back to CTCF."""
    from memelite import tomtom
    from pyjaspar import jaspardb

    db = motif_database("JASPAR2024")
    assert len(db) > 500
    for ppm in list(db.values())[:50]:
        assert ppm.shape[0] == 4
        np.testing.assert_allclose(ppm.sum(axis=0), 1.0)
    ctcf = jaspardb().fetch_motifs_by_name("CTCF")[0]
    counts = np.array([ctcf.counts[b] for b in "ACGT"], dtype=float) + 1.0
    query = counts / counts.sum(axis=0) * 0.9 + 0.025  # blurred towards uniform
    pvals = np.asarray(tomtom([query], list(db.values()))[0])[0]
    assert "CTCF" in list(db)[int(pvals.argmin())]
    assert all(name.startswith("MA") for name in db)


def test_database_names(monkeypatch, tmp_path):
    """'jaspar' is pyjaspar's newest release, 'JASPAR<year>' that release, anything else a MEME file."""
    import stagevep.evaluate.motifs as motifs

    asked = []
    monkeypatch.setattr(motifs, "jaspar_motifs", lambda release=None: asked.append(release) or {})
    motif_database("jaspar")
    motif_database("Jaspar2022")
    assert asked == [None, "JASPAR2022"]
    with pytest.raises(InputError, match="motif database not found"):
        motif_database(tmp_path / "jaspar.meme")


def test_unknown_jaspar_release_names_the_releases():
    with pytest.raises(InputError, match="JASPAR1999.*releases .*JASPAR2024"):
        motif_database("JASPAR1999")
