"""Evaluation of a checkpoint: metric tables, predictions, predicted bigWigs and figures (metrics: stagevep.core)."""
