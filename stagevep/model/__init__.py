"""Enformer trunk, stage head, freezing policy and checkpoint format."""
