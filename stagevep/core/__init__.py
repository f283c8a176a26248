"""Pure maths every layer may use: metrics, variant statistics, sequence encoding, assignment parsing (no I/O)."""
