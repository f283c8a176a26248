"""Which variants' per-bin predictions a scoring run keeps for ``--save-tracks``."""

from __future__ import annotations

import heapq

import numpy as np


class TrackKeeper:
    """Per-bin ref/alt predictions to keep for ``--save-tracks``.

    Keeps every scored variant (``keep_all``), those whose ID is in ``ids``, and
    the ``top_n`` highest-scoring ones (held in memory until :meth:`rows`).
    Arrays are float32 ``(n_bins, n_tracks)`` per variant.
    """

    def __init__(self, keep_all: bool = False, ids: set[str] | None = None, top_n: int = 0) -> None:
        self.keep_all, self.ids, self.top_n = keep_all, ids or set(), top_n
        self.kept: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._top: list[tuple[float, int, np.ndarray, np.ndarray]] = []

    def add(self, rows: np.ndarray, ids: np.ndarray, score: np.ndarray, ref: np.ndarray, alt: np.ndarray) -> None:
        """Offer ``ref``/``alt`` ``(n, n_bins, n_tracks)`` of table rows ``rows`` with ``score`` ``(n,)``."""
        for k, row in enumerate(rows):
            if self.keep_all or ids[k] in self.ids:
                self.kept[int(row)] = (ref[k].copy(), alt[k].copy())
            elif self.top_n:
                item = (float(score[k]), int(row), ref[k].copy(), alt[k].copy())
                if len(self._top) < self.top_n:
                    heapq.heappush(self._top, item)
                elif item[0] > self._top[0][0]:
                    heapq.heapreplace(self._top, item)

    def rows(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Table row -> (ref, alt) of every kept variant."""
        return {**self.kept, **{row: (r, a) for _, row, r, a in self._top}}
