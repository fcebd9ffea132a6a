"""The monthly report opened in headless Chromium (Debian's `chromium`) really draws its charts.

The charts are the only things painted in the orange and green of the palette, so
the screenshot is checked for those colours, and again with the SVG charts taken out
of the page: the pixels must come from the charts. Skipped when chromium is absent.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mapping.loader import load_procedure
from plugin.reports.monthly import monthly_kpis, render_monthly
from tests.duties import FIRST_LINE, NOW, month

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                                         "(apt-get install chromium) - screenshot test skipped")

ORANGE = (0xE6, 0x9F, 0x00)  # the "resolved" bars and severity 2
GREEN = (0x00, 0x9E, 0x73)  # severity 4 in the ring
VERMILION = (0xD5, 0x5E, 0x00)  # the bars of missed levels, severity 1


def screenshot(html: str, tmp_path: Path, name: str) -> Path:
    page = tmp_path / f"{name}.html"
    page.write_text(html, encoding="utf-8")
    png = tmp_path / f"{name}.png"
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}", "--window-size=1200,2000",
               "--hide-scrollbars", page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and png.exists(), done.stderr[-2000:]
    return png


def count(png: Path, colour: tuple[int, int, int], tolerance: int = 12) -> int:
    """Pixels within `tolerance` of `colour` (per channel); anti-aliased edges fall outside."""
    from PIL import Image

    with Image.open(png) as image:
        colours = image.convert("RGB").getcolors(maxcolors=image.width * image.height)
    return sum(n for n, rgb in colours if all(abs(a - b) <= tolerance for a, b in zip(rgb, colour, strict=True)))


def test_monthly_report_renders_its_charts(tmp_path):
    procedure = load_procedure()
    html = render_monthly(monthly_kpis(month(), procedure, "2026-11", NOW, first_line_groups=FIRST_LINE),
                          procedure, "2026-11")
    with_charts = screenshot(html, tmp_path, "monthly")
    without = screenshot(re.sub(r"<svg .*?</svg>", "", html, flags=re.S), tmp_path, "no-charts")
    from PIL import Image

    with Image.open(with_charts) as image:
        assert image.size == (1200, 2000)
        assert image.convert("L").getextrema()[0] < 100  # not blank: there is dark text
    # the orange bars of the resolved and the severity ring: thousands of pixels
    assert count(with_charts, ORANGE) > 5000
    assert count(with_charts, GREEN) > 500
    assert count(with_charts, VERMILION) > 2000
    # without the SVG charts those colours are gone (the vermilion border of a major incident
    # lies below the first 2000 pixels of the page)
    assert count(without, ORANGE) == 0
    assert count(without, GREEN) == 0


BLUE = (0x00, 0x72, 0xB2)  # the rule under the work order's title


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_work_order_prints_on_one_a4_page(tmp_path, lang):
    from plugin.reports.workorder import render_workorder
    from tests.reports.test_workorder import k18

    html = render_workorder(k18(), load_procedure(), NOW, lang)
    png = screenshot(html, tmp_path, f"workorder-{lang}")
    from PIL import Image

    with Image.open(png) as image:
        grey = image.convert("L")
        dark = [x for x in range(0, grey.width, 2) for y in range(0, grey.height, 4) if grey.getpixel((x, y)) < 100]
    assert len(dark) > 2000  # text, table rules and the signature boxes were drawn
    # the form is 180 mm wide: all of it lies within an A4 sheet's 210 mm (794 px at 96 dpi)
    assert max(dark) - min(dark) <= 794
    assert count(png, BLUE) > 1500  # the rule under the title: 180 mm x 3 px
    # printed to PDF, the form (a reopen, two escalations, ten steps) takes one A4 page
    page = tmp_path / f"workorder-{lang}.html"
    pdf = tmp_path / f"workorder-{lang}.pdf"
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'profile'}", "--no-pdf-header-footer", f"--print-to-pdf={pdf}",
               page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and pdf.exists(), done.stderr[-2000:]
    data = pdf.read_bytes()
    assert len(re.findall(rb"/Type\s*/Page[^s]", data)) == 1
    assert re.search(rb"/MediaBox\s*\[\s*0\s+0\s+59[45]\.?\d*\s+84[12]\.?\d*\s*\]", data)  # A4: 595 x 842 pt
