"""File formats: FASTA, bigWig, peaks, variant tables, HDF5 targets."""
