"""All matplotlib figures (Agg backend, PNG + PDF)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)


def save_figure(fig: "plt.Figure", stem: Path, dpi: int = 120) -> Path:
    """Save ``fig`` as ``<stem>.png`` (figsize x ``dpi`` pixels) and ``<stem>.pdf``, then close it.

    Each file is written under a temporary name and renamed when complete.
    Returns the PNG path.
    """
    fig.tight_layout()
    for fmt in ("png", "pdf"):
        final = stem.with_suffix(f".{fmt}")
        tmp = final.with_name(final.name + ".tmp")
        fig.savefig(tmp, dpi=dpi, format=fmt)
        tmp.replace(final)
    plt.close(fig)
    return stem.with_suffix(".png")
