"""Deterministic synthetic genome, H3K27ac-like signal, peaks and variants."""

from stagevep.synthetic.config import SyntheticConfig
from stagevep.synthetic.generate import make_synthetic_dataset

__all__ = ["SyntheticConfig", "make_synthetic_dataset"]
