"""The run report: one self-contained HTML page (``report/report.html``)."""

from stagevep.report.build import SECTIONS, render_report, section_of, write_report

__all__ = ["SECTIONS", "render_report", "section_of", "write_report"]
