"""Training loop, losses and logging."""
