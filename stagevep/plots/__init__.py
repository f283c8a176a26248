"""All matplotlib figures (Agg backend, PNG + PDF)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (after selecting the backend)

from stagevep.io.files import atomic_path  # noqa: E402


def save_figure(fig: plt.Figure, stem: str | Path) -> list[Path]:
    """Save ``fig`` as ``stem.png`` (120 dpi) and ``stem.pdf`` atomically, close it; returns both paths."""
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    paths = []
    for suffix, kwargs in ((".png", {"dpi": 120}), (".pdf", {})):
        path = Path(stem).with_suffix(suffix)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=suffix[1:], **kwargs)
        paths.append(path)
    plt.close(fig)
    return paths
