"""`dvc plots show` as a user sees it: the report opened in headless Chromium with no
network, charts drawn from the locally installed Vega libraries.

Needs Debian's chromium and chromium-driver (.ci/run installs them), selenium, and
node_modules/ from `npm ci`; skips where any is missing."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from pipeline_repo import copy_repo, dvc

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
webdriver = pytest.importorskip("selenium.webdriver")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="chromium and chromedriver not installed"),
    pytest.mark.skipif(
        not (ROOT / "node_modules" / "vega").is_dir(), reason="node_modules/ missing: run `npm ci`"
    ),
]
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Any request that leaves the machine would fail and be logged: proof the page is offline.
    "--proxy-server=127.0.0.1:9",
]


@pytest.fixture(scope="module")
def report(tiny_run, tmp_path_factory) -> Path:
    repo = copy_repo(tiny_run[0], tmp_path_factory.mktemp("plots") / "repo")
    shutil.copy(ROOT / ".dvc" / "plots_template.html", repo / ".dvc" / "plots_template.html")
    dvc(repo, "config", "plots.html_template", "plots_template.html")
    (repo / "node_modules").symlink_to(ROOT / "node_modules")
    dvc(repo, "plots", "show")
    return repo / "dvc_plots" / "index.html"


def test_the_report_uses_no_cdn(report):
    html = report.read_text()
    assert "cdn.jsdelivr" not in html and "https://" not in html.split("<body>")[0]
    assert '<script src="../node_modules/vega/build/vega.min.js">' in html


def chart_specs(html: str) -> list[dict]:
    """The Vega-Lite spec of every chart on the page, as DVC embeds them."""
    return [json.loads(m) for m in re.findall(r"var spec = (.*?);\s*vegaEmbed", html, re.DOTALL)]


def test_each_defined_chart_appears_once_with_a_title_and_named_axes(report):
    defined = [next(iter(p)) for p in yaml.safe_load((ROOT / "dvc.yaml").read_text())["plots"]]
    specs = chart_specs(report.read_text())
    titles = [spec["title"]["text"] for spec in specs]
    # No default chart of a stray table (titled by its path), nothing drawn twice.
    assert sorted(titles) == sorted(defined)
    for spec in specs:
        encoding = json.dumps(spec)
        assert '"title": "epoch"' in encoding, spec["title"]  # the x axis is named
        assert ".csv" not in spec["title"]["text"]


def test_charts_and_images_draw_in_headless_chromium(report, tmp_path):
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = Options()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1400,2400"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.get(report.as_uri())
        expected = report.read_text().count("vegaEmbed(")
        defined = len(yaml.safe_load((ROOT / "dvc.yaml").read_text())["plots"])
        assert expected == defined  # each chart of dvc.yaml once, no default charts of stray tables

        def drawn(d) -> int:
            # charts whose marks are drawn (vega-embed adds an svg icon to each chart's menu)
            return d.execute_script(
                "return [...document.querySelectorAll('.vega-embed')]"
                ".filter(e => e.querySelector('canvas, svg.marks')).length"
            )

        WebDriverWait(driver, 30).until(lambda d: drawn(d) >= expected)
        assert drawn(driver) == expected
        broken_images = driver.execute_script(
            "return [...document.images].filter(i => !i.complete || i.naturalWidth === 0).length"
        )
        images = driver.execute_script("return document.images.length")
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        screenshot = Path(os.environ.get("FACEGEN_SCREENSHOT", tmp_path / "report.png"))
        driver.save_screenshot(str(screenshot))
    finally:
        driver.quit()
    assert drawn is not None and images > 10 and broken_images == 0
    assert errors == []
    assert screenshot.stat().st_size > 10_000
