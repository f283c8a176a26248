"""Variant sequences, scores and group statistics."""
