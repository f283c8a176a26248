"""All matplotlib figures (Agg backend, PNG + PDF)."""

import matplotlib

matplotlib.use("Agg")
