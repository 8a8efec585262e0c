"""The journey map page: one self-contained HTML file drawn from the dbt marts.

``write_journey_map(warehouse, out_path)`` is the entry point. Data access
(``data.collect_report_data``: queries -> plain dicts) is kept apart from rendering
(``render.render_journey_map``: dicts -> HTML) so the page can be tested without a warehouse.
"""

from journeymap.report.data import collect_report_data
from journeymap.report.page import ReportSummary, summarize, write_journey_map
from journeymap.report.render import render_journey_map

__all__ = [
    "ReportSummary",
    "collect_report_data",
    "render_journey_map",
    "summarize",
    "write_journey_map",
]
