"""Window geometry shared by data preparation, training, evaluation and scoring."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from stagevep.errors import InputError


@dataclass(frozen=True)
class Geometry:
    """Target window of ``n_bins * bin_size`` bp centred in a ``context_length`` bp model input.

    Defaults are Enformer's: 896 bins of 128 bp (114,688 bp) in 196,608 bp.
    """

    n_bins: int = 896
    bin_size: int = 128
    context_length: int = 196_608

    def __post_init__(self) -> None:
        for name in ("n_bins", "bin_size", "context_length"):
            if getattr(self, name) <= 0:
                raise InputError(f"{name} must be positive, got {getattr(self, name)}")
        if self.context_length % self.bin_size:
            raise InputError(
                f"context_length {self.context_length} is not a multiple of bin_size {self.bin_size}"
            )
        if self.target_length > self.context_length:
            raise InputError(
                f"target window {self.n_bins} x {self.bin_size} = {self.target_length} bp is longer than "
                f"the context {self.context_length} bp"
            )
        if (self.context_length - self.target_length) % 2:
            raise InputError("context_length - n_bins * bin_size must be even so the target window is centred")

    @property
    def target_length(self) -> int:
        """Length of the target window in bp."""
        return self.n_bins * self.bin_size

    @property
    def flank(self) -> int:
        """Context bases on each side of the target window."""
        return (self.context_length - self.target_length) // 2

    def to_dict(self) -> dict[str, int]:
        """Plain dict for checkpoints, HDF5 attributes and JSON."""
        return asdict(self)


#: the original study's variant score summarised the central 96 of Enformer's 896 bins (bin 448 +/- 48)
SEED_CENTRAL_BINS, SEED_N_BINS = 96, 896


def default_central_bins(geometry: Geometry) -> int:
    """Central bins summarised in variant scores when the user gives none: the original study's share of the window.

    ``round(n_bins * 96 / 896)``, at least 1: 96 for Enformer's 896 bins, 7 for 64, 3 for 32. Every
    scoring, calibration and attribution step takes its default from here, so that a checkpoint of any
    geometry scores without geometry flags.
    """
    return max(1, round(geometry.n_bins * SEED_CENTRAL_BINS / SEED_N_BINS))


def resolve_central_bins(central_bins: int | None, geometry: Geometry) -> int:
    """``central_bins`` as given, or :func:`default_central_bins` of ``geometry`` when it is None."""
    return default_central_bins(geometry) if central_bins is None else int(central_bins)
