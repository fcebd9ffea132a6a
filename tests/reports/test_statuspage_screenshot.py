"""The daemon's status page opened in headless Chromium (Debian's `chromium`): the queue is drawn,
on a desktop window and on a phone's width.

The page paints in red only the "when" of an overdue incident (while the daemon is
healthy), in amber only that of one due within the hour, and with a yellow ground only a
blocking reason: the screenshot is checked for those colours, then again with the queue
taken out of the page — the pixels must come from the queue. Skipped when chromium is absent.
"""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from plugin.statuspage import StatusPage
from tests.daemon.conftest import T0, World, incident
from tests.reports.test_screenshot import CHROMIUM, count

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                                         "(apt-get install chromium) - screenshot test skipped")

RED = (0xCF, 0x22, 0x2E)  # --bad: an overdue "when"
AMBER = (0x9A, 0x67, 0x00)  # --warn: due within the hour
YELLOW = (0xFF, 0xF8, 0xC5)  # --warnbg: a blocking reason
GREEN = (0x1A, 0x7F, 0x37)  # --ok: the health badge


def shoot(html: str, tmp_path: Path, name: str, size: str) -> Path:
    page = tmp_path / f"{name}.html"
    page.write_text(html, encoding="utf-8")
    png = tmp_path / f"{name}.png"
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}", f"--window-size={size}",
               "--hide-scrollbars", page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and png.exists(), done.stderr[-2000:]
    return png


@pytest.fixture(scope="module")
def page_html() -> str:
    world = World()
    world.tracker.add(incident("1", severity=2))  # level 1 due at T0 + 4 h: its write is refused
    world.tracker.add(incident("2", severity=2, reported_at=T0 + timedelta(minutes=40)))  # due in 30 min
    world.tracker.add(incident("3", severity=3))
    world.tracker.fail("set_escalation_level", 403)  # the level write is refused: the escalation waits
    daemon = world.daemon()
    page = StatusPage(daemon)  # attached before the first pass, as `escalator run` does: it lists what is read
    world.at(timedelta(hours=4, minutes=10))
    daemon.cycle()
    html = page.html()
    assert "overdue 10 min" in html and "in 30 min" in html and "refused: " in html
    return html


def without_queue(html: str) -> str:
    return re.sub(r'<table class="cards" id="queue">.*?</table>', "", html, flags=re.S)


@pytest.mark.parametrize("size", ["1200,900", "390,1400"], ids=["desktop", "phone"])
def test_the_status_page_draws_the_queue(page_html, tmp_path, size):
    from PIL import Image

    shot = shoot(page_html, tmp_path, "status", size)
    with Image.open(shot) as image:
        assert image.size == tuple(int(n) for n in size.split(","))
        assert image.convert("L").getextrema()[0] < 100  # not blank: there is dark text
    assert count(shot, RED) > 30  # "overdue 10 min", bold
    assert count(shot, AMBER) > 30  # "in 30 min", bold
    assert count(shot, YELLOW) > 2000  # the ground of the blocking reason
    assert count(shot, GREEN) > 30  # the health badge

    bare = shoot(without_queue(page_html), tmp_path, "bare", size)
    assert count(bare, RED) == 0 and count(bare, AMBER) == 0 and count(bare, YELLOW) == 0
    assert count(bare, GREEN) > 30
