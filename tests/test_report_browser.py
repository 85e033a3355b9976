"""The report in a real browser: headless Chromium (Debian packages chromium + chromium-driver) via Selenium.

Opens the fixture report over file://, checks that tables and inline SVG figures render with a size,
that clicking a leaderboard header sorts the model rows, that the console stays clean, and saves a
screenshot (report.png beside the report; GENOBENCH_UPDATE_SCREENSHOT=1 also refreshes docs/report.png). Skips with the reason when Chromium or Selenium is missing
locally; CI installs both.
"""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

import pytest

from genobench_hf.report import build_report

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FIXTURES = Path(__file__).parent / "fixtures" / "results"

webdriver = pytest.importorskip(
    "selenium.webdriver", reason="selenium is not installed (pip install selenium)"
)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="needs /usr/bin/chromium and /usr/bin/chromedriver (apt-get install -y chromium chromium-driver)",
    ),
]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    out = tmp_path_factory.mktemp("browser")
    files = build_report(sorted(FIXTURES.glob("*.json")), out / "report")
    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={out / 'profile'}",
        "--window-size=1500,1100",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        driver.set_page_load_timeout(60)
        driver.get(files.html.resolve().as_uri())
        yield driver, files
    finally:
        driver.quit()
        shutil.rmtree(out / "profile", ignore_errors=True)


def _model_order(driver) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#table-leaderboard tbody.models tr'))"
        ".map(r => r.cells[0].textContent.trim());"
    )


def _column_values(driver, col: int) -> list[float | None]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#table-leaderboard tbody.models tr')).map(r => {"
        " const v = r.cells[arguments[0]].dataset.value; return v === undefined ? null : Number(v); });",
        col,
    )


def test_tables_and_figures_render(page):
    driver, _ = page
    from selenium.webdriver.common.by import By

    assert driver.title == "genobench report"
    tables = driver.find_elements(By.CSS_SELECTOR, "table")
    assert len(tables) >= 8
    assert all(t.size["height"] > 0 for t in tables if t.is_displayed())
    rows = driver.find_elements(By.CSS_SELECTOR, "#table-leaderboard tbody tr")
    assert len(rows) == 5  # 3 models + Markov + chance
    sizes = driver.execute_script(
        "return Array.from(document.querySelectorAll('figure svg')).map(s => {"
        " const b = s.getBoundingClientRect(); return [b.width, b.height]; });"
    )
    assert len(sizes) == 7 and all(w > 100 and h > 100 for w, h in sizes)
    # images, if any, decoded with a real size
    broken = driver.execute_script(
        "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).length;"
    )
    assert broken == 0
    # SVG text and marker references resolved (an unresolved <use> has an empty box)
    empty_markers = driver.execute_script(
        "return Array.from(document.querySelectorAll('figure svg use'))"
        ".filter(u => u.getBBox().width === 0 && u.getBBox().height === 0).length;"
    )
    assert empty_markers == 0


def test_clicking_a_header_sorts_rows(page):
    driver, _ = page
    from selenium.webdriver.common.by import By

    headers = driver.find_elements(By.CSS_SELECTOR, "#table-leaderboard thead tr:last-child th")
    span = next(
        h for h in headers if "PRO" in h.text and h.get_attribute("data-higher") == "true"
    )  # span_imputation on PRO: identity, higher is better
    col = int(span.get_attribute("data-col"))
    before = _model_order(driver)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center', inline: 'center'});", span)
    span.click()
    values = _column_values(driver, col)
    assert values == sorted(values, reverse=True)  # first click: best first
    assert span.get_attribute("aria-sort") == "descending"
    first = _model_order(driver)
    span.click()
    values = _column_values(driver, col)
    assert values == sorted(values)
    assert _model_order(driver) == first[::-1]
    bits = next(h for h in headers if h.get_attribute("data-higher") == "false")  # imputation PRO, bits/nt
    driver.execute_script(
        "arguments[0].closest('.scroll').scrollLeft = 0;", bits
    )  # from under the sticky column
    bits.click()
    ranked = _column_values(driver, int(bits.get_attribute("data-col")))
    assert ranked == sorted(ranked)  # lower is better: ascending first
    assert sorted(_model_order(driver)) == sorted(before)
    # baseline rows stay pinned below the models
    labels = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#table-leaderboard tbody.baselines tr")]
    assert labels[0].startswith("markov baseline") and labels[1].startswith("chance baseline")


def test_page_fits_a_1280_px_window(page):
    """Wide tables scroll inside their own box; the page itself (navigation included) never overflows."""
    driver, _ = page
    driver.set_window_size(1280, 900)
    try:
        widths = driver.execute_script(
            "const d = document.documentElement; return [d.scrollWidth, d.clientWidth, window.innerWidth];"
        )
        assert widths[0] <= widths[1] <= widths[2] <= 1280
        boxes = driver.execute_script(
            "return Array.from(document.querySelectorAll('.scroll')).map(s => {"
            " const t = s.querySelector('table'); const b = s.getBoundingClientRect();"
            " return [t.id, t.scrollWidth, s.clientWidth, b.right, getComputedStyle(s).overflowX]; });"
        )
        for table_id, table_w, box_w, right, overflow in boxes:
            assert right <= widths[1] + 0.5, table_id
            assert table_w <= box_w or overflow == "auto", table_id
    finally:
        driver.set_window_size(1500, 1100)


def test_no_console_errors_and_screenshot(page):
    driver, files = page
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    shot = files.html.parent / "report.png"
    save_screenshot(driver, shot)
    assert shot.stat().st_size > 20_000
    if os.environ.get("GENOBENCH_UPDATE_SCREENSHOT"):  # refresh the README gallery copy on purpose only
        shutil.copyfile(shot, Path(__file__).resolve().parents[1] / "docs" / "report.png")


def save_screenshot(driver, path: Path) -> None:
    """PNG of the page top: header, leaderboard and the first task table (beyond the viewport, via CDP)."""
    bottom = driver.execute_script(
        "const t = document.getElementById('table-task-imputation') || document.body;"
        "return t.getBoundingClientRect().bottom + window.scrollY + 16;"
    )
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": 1500, "height": min(float(bottom), 2400.0), "scale": 1},
        },
    )
    path.write_bytes(base64.b64decode(shot["data"]))
