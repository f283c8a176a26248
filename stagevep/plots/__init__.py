"""All matplotlib figures (Agg backend, PNG + PDF)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (after selecting the backend)

from stagevep.io.files import atomic_path  # noqa: E402


def save_figure(fig: plt.Figure, stem: str | Path, dpi: int = 120, formats: tuple[str, ...] = ("png", "pdf")
                ) -> list[Path]:
    """Save ``fig`` as ``stem.png`` (figsize x ``dpi`` pixels) and ``stem.pdf`` atomically, close it.

    ``formats`` chooses which of the two (``png``, ``pdf``) are written. Returns the paths, PNG first.
    """
    unknown = set(formats) - {"png", "pdf"}
    if unknown:
        raise ValueError(f"save_figure writes png and pdf, not {sorted(unknown)}")
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    paths = []
    for suffix, kwargs in ((".png", {"dpi": dpi}), (".pdf", {})):
        if suffix[1:] not in formats:
            continue
        path = Path(stem).with_suffix(suffix)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=suffix[1:], **kwargs)
        paths.append(path)
    plt.close(fig)
    return paths
