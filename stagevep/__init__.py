"""stagevep: stage-specific enhancer activity and variant effects with a finetuned Enformer."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("stagevep")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
