"""The benchmark harness's arithmetic: ratios, scaling exponents and target verdicts from
measured step times (bench/figures.py), on hand-made measurements with known answers."""

from __future__ import annotations

import pytest

from bench.figures import derive, linearity, targets
from bench.machine import machine_info, project_fingerprint, versions
from bench.measure import GIB
from bench.report import markdown


def measured_size(label: str, events: int, seconds: dict[str, float], rss: float) -> dict:
    size = {"label": label, "events": events, "customers": events // 100}
    for step, wall in seconds.items():
        size[step] = {
            "seconds": wall,
            "cpu_seconds": wall * 2,
            "returncode": 0,
            "peak_rss_bytes": int(rss * GIB),
        }
    size["derived"] = derive(size)
    return size


SMALL = measured_size(
    "1M",
    1_000_000,
    {"build_full": 20.0, "baseline": 4.0, "build_incremental": 10.0, "build_no_new_data": 8.0},
    rss=0.5,
)
# 10x the events: the build takes 10x (linear), the day 2.0x its small size.
LARGE = measured_size(
    "10M",
    10_000_000,
    {
        "build_full": 200.0,
        "baseline": 80.0,
        "build_incremental": 30.0,
        "build_incremental_daily": 24.0,
        "build_no_new_data": 18.0,
    },
    rss=3.5,
)


def test_ratios_of_a_size():
    derived = LARGE["derived"]
    assert derived["build_over_baseline"] == pytest.approx(2.5)
    assert derived["incremental_over_full_build"] == pytest.approx(0.15)
    assert derived["no_new_data_over_full_build"] == pytest.approx(0.09)
    assert derived["daily_over_full_build"] == pytest.approx(0.12)
    assert derived["peak_rss_bytes"] == int(3.5 * GIB)
    assert derived["seconds_per_million_events"]["build_full"] == pytest.approx(20.0)


def test_scaling_exponent_is_one_for_linear_growth():
    (pair,) = linearity([LARGE, SMALL])["pairs"]  # sorted by events, whatever the order given
    assert (pair["from"], pair["to"]) == ("1M", "10M")
    assert pair["exponents"]["build_full"] == pytest.approx(1.0)
    assert pair["exponents"]["baseline"] == pytest.approx(1.30, abs=0.01)  # 20x for 10x
    assert pair["exponents"]["build_incremental"] == pytest.approx(0.48, abs=0.01)


def test_target_verdicts():
    lin = linearity([SMALL, LARGE])
    verdicts = {check["target"].split(" (")[0]: check for check in targets([SMALL, LARGE], lin, [])}
    assert verdicts["full dbt build within 3x the baseline"]["met"] is True
    assert verdicts["full dbt build within 3x the baseline"]["value"].startswith("2.5x")
    incremental = verdicts["incremental day within 10% of the full build"]
    assert incremental["met"] is False
    assert incremental["value"] == "15% (cpu 15%); the daily schedule's build 12%"
    assert verdicts["peak RSS below 4 GiB"]["met"] is True
    assert verdicts["100M completes"]["met"] is None  # not requested, not judged
    assert verdicts["linear growth of the full build"]["met"] is True

    slower = measured_size("10M", 10_000_000, {"build_full": 400.0, "baseline": 80.0}, rss=4.5)
    lin = linearity([SMALL, slower])
    checks = targets([SMALL, slower], lin, [])
    verdicts = {check["target"].split(" (")[0]: check for check in checks}
    assert verdicts["full dbt build within 3x the baseline"]["met"] is False
    assert verdicts["peak RSS below 4 GiB"]["met"] is False
    assert verdicts["linear growth of the full build"]["met"] is False  # exponent 1.30

    # The daily schedule's build (tests on the rows it wrote) counts for the 10% target.
    quick_day = measured_size(
        "10M",
        10_000_000,
        {
            "build_full": 200.0,
            "baseline": 80.0,
            "build_incremental": 30.0,
            "build_incremental_daily": 19.0,
        },
        rss=3.5,
    )
    checks = targets([quick_day], linearity([quick_day]), [])
    verdicts = {check["target"].split(" (")[0]: check for check in checks}
    assert verdicts["incremental day within 10% of the full build"]["met"] is True


def test_markdown_shows_the_no_new_data_and_daily_builds():
    report = {
        "started_at": "2026-11-30T00:00:00+00:00",
        "command": "python -m bench.run",
        "machine": machine_info(),
        "versions": versions(),
        "project": project_fingerprint(),
        "days": 90,
        "seed": 42,
        "calibration": {"rows_per_customer": 106.3},
        "rss_method": "",
        "sizes": [SMALL, LARGE],
        "linearity": linearity([SMALL, LARGE]),
        "targets": targets([SMALL, LARGE], linearity([SMALL, LARGE]), []),
        "total_seconds": 60.0,
    }
    text = markdown(report)
    rows = {
        line.split("|")[1].strip(): line.split("|")[2:4]
        for line in text.splitlines()
        if line.startswith("| ")
    }
    assert rows["no new data / full build"] == [" 40% ", " 9% "]
    assert rows["daily schedule's build / full build"] == [" - ", " 12% (cpu 12%) "]
