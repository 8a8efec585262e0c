"""End to end: the journey map page of the dbt-built sample business in real headless Chromium.

Needs the `playwright` package and Debian's `chromium` (never a browser downloaded by
Playwright). Outside CI the test is skipped when either is missing; in CI it fails instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from journeymap.report import write_journey_map
from journeymap.warehouse import DuckDBWarehouse

STAGE_NAMES = ["Awareness", "Consideration", "Purchase", "Retention", "Advocacy"]
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _chromium() -> str | None:
    configured = os.environ.get("JOURNEYMAP_CHROMIUM")
    if configured:
        return configured
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _missing(reason: str):
    # `make test` installs both (target `browser`): a missing one is a broken setup, never a
    # silently skipped page test.
    pytest.fail(f"{reason}: run `make browser` or set JOURNEYMAP_CHROMIUM")


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed")
    executable = _chromium()
    if executable is None:
        _missing("Chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page_path(built_warehouse, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report_e2e") / "journey_map.html"
    with DuckDBWarehouse(built_warehouse.duckdb_path, read_only=True) as warehouse:
        write_journey_map(warehouse, out)
    return out


def test_journey_map_in_chromium(browser, page_path, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_path.as_uri(), wait_until="load")

    assert errors == []
    assert requests == [page_path.as_uri()]  # nothing but the file itself: no network

    stages = page.locator(".stage h3").all_inner_texts()
    assert stages == STAGE_NAMES
    for name in STAGE_NAMES:
        assert page.locator("#journey").get_by_role("heading", name=name, exact=True).is_visible()
    boxes = [page.locator(f".stage[data-stage='{n.lower()}']").bounding_box() for n in STAGE_NAMES]
    lefts = [box["x"] for box in boxes]
    assert lefts == sorted(lefts) and boxes[-1]["x"] + boxes[-1]["width"] <= 1280  # one row

    nodes = page.locator("svg.sankey .sankey-node rect")
    assert nodes.count() >= 10
    assert page.locator("svg.sankey .sankey-link").count() >= nodes.count() - 1
    first = nodes.first.bounding_box()
    assert first["width"] > 0 and first["height"] > 0
    assert "customers" in page.locator("svg.sankey .sankey-node rect title").first.text_content()

    # Persona cards side by side, each with what sets it apart; the retention triangle.
    cards = page.locator("article.persona")
    assert cards.count() >= 3
    assert all(page.locator("article.persona li").nth(i).is_visible() for i in range(3))
    tops = {round(cards.nth(i).bounding_box()["y"]) for i in range(min(3, cards.count()))}
    assert len(tops) == 1  # the first three share a row
    first_row = page.locator("table.triangle tbody tr").first
    assert first_row.locator("td").first.inner_text() == "100%"  # week 0 of a first-order cohort

    assert "Customers struggle most after" in page.locator(".hero").inner_text()
    attribution = page.locator("#attribution")
    assert attribution.locator("table.attribution tbody tr").count() >= 6  # the channels
    assert "over-credits" in attribution.locator("[data-attribution='headline']").inner_text()
    assert attribution.locator("[data-paths='conversion'] li").count() >= 3
    assert page.locator(".funnel-row.gap").count() == 1
    # What customers say and feel: a point per stage on the curve, themes under their stage.
    curve = page.locator("svg.voice-curve")
    assert curve.is_visible() and curve.locator("circle").count() == 5
    voice_stages = page.locator(".voice-stage")
    assert [b["x"] for b in (voice_stages.nth(i).bounding_box() for i in range(5))] == sorted(
        b["x"] for b in (voice_stages.nth(i).bounding_box() for i in range(5))
    )
    purchase_themes = page.locator(".voice-stage[data-stage='purchase'] .theme")
    assert purchase_themes.count() >= 1
    assert purchase_themes.first.locator("blockquote").first.is_visible()
    # fits a 1280 px screen without sideways scrolling
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280

    page.locator("#voice").screenshot(path=str(tmp_path / "voice.png"))
    screenshot = tmp_path / "journey_map.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 50_000
    pdf = tmp_path / "journey_map.pdf"
    page.pdf(path=str(pdf), format="A4", landscape=True, print_background=True)
    assert pdf.read_bytes().startswith(b"%PDF")
    context.close()
