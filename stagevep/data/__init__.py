"""Data preparation: replicate averaging, peak union, windows, targets, datasets."""
