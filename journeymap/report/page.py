"""Write the journey map page: the one entry point the orchestration calls."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from journeymap.report import insights
from journeymap.report.data import DEFAULT_FUNNEL, QueryableWarehouse, collect_report_data
from journeymap.report.render import render_journey_map


@dataclass(frozen=True)
class ReportSummary:
    """What was written, with the page's headline figures (for logs and asset metadata)."""

    path: Path
    bytes: int
    customers: int
    biggest_drop_off_stage: str | None
    biggest_drop_off_rate: float | None
    device_gap_step: str | None
    device_gap_worst_device: str | None
    device_gap_compared_with: str | None
    device_gap_points: float | None
    funnel_conversion: float | None
    churn_scored_customers: int
    high_churn_risk_customers: int | None

    def metadata(self) -> dict[str, Any]:
        """JSON-able figures (the path as a string)."""
        values = asdict(self)
        values["path"] = str(self.path)
        return values


def summarize(data: dict[str, Any], path: Path, size: int) -> ReportSummary:
    worst = insights.biggest_stage_drop_off(data)
    gap = insights.biggest_device_gap(data)
    steps = insights.funnel_steps(data)
    return ReportSummary(
        path=path,
        bytes=size,
        customers=int((data.get("customers") or {}).get("total") or 0),
        biggest_drop_off_stage=worst["journey_stage"] if worst else None,
        biggest_drop_off_rate=worst["drop_off_rate"] if worst else None,
        device_gap_step=gap["step_name"] if gap else None,
        device_gap_worst_device=gap["worst_device"] if gap else None,
        device_gap_compared_with=insights.and_list(gap["compared_devices"]) if gap else None,
        device_gap_points=round(gap["gap"] * 100, 1) if gap else None,
        funnel_conversion=steps[-1].get("conversion_from_entry") if steps else None,
        churn_scored_customers=int((data.get("churn") or {}).get("scored_customers") or 0),
        high_churn_risk_customers=insights.high_risk_customers(data),
    )


def write_journey_map(
    warehouse: QueryableWarehouse,
    out_path: Path,
    *,
    schema: str = "marts",
    enriched_schema: str = "enriched",
    funnel: str = DEFAULT_FUNNEL,
) -> ReportSummary:
    """Read the marts, render the journey map page and write it to ``out_path`` (UTF-8)."""
    out_path = Path(out_path)
    data = collect_report_data(
        warehouse, schema=schema, enriched_schema=enriched_schema, funnel=funnel
    )
    page = render_journey_map(data).encode("utf-8")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_bytes(page)
    tmp.replace(out_path)  # readers never see half a page
    return summarize(data, out_path, len(page))
