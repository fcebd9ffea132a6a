"""Inline SVG charts for the HTML reports: no script, no external asset, readable when printed.

Each function returns one `<svg>` element as `markupsafe.Markup` (every text in it
escaped here), sized by its viewBox so it scales with the page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

from mapping.text import display_width

FONT = "'WenQuanYi Micro Hei','Noto Sans CJK SC','Microsoft YaHei','PingFang SC',sans-serif"
#: colours that stay apart for colour-blind readers (Okabe-Ito)
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#999999")
SEVERITY_COLOURS = {"1": "#D55E00", "2": "#E69F00", "3": "#0072B2", "4": "#009E73", "unset": "#999999"}


def _svg(width: int, height: int, body: list[str], title: str) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'style="max-width:{width}px;font-family:{FONT}" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>")


def _nice_max(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _fit(text: str, columns: int) -> str:
    """`text` cut to about `columns` half-width characters (a CJK character counts two), with an ellipsis."""
    used = 0
    for i, ch in enumerate(text):
        used += display_width(ch)
        if used > columns:
            return text[:i - 1].rstrip() + "…"
    return text


def _number(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def grouped_bars(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], title: str) -> Markup:
    """Vertical bars, one group per label (e.g. a week), one bar per series, with a legend."""
    width, height = 720, 300
    left, right, top, bottom = 44, 16, 40, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    highest = max((v for _, values in series for v in values), default=0)
    step = _nice_max(highest / 4) if highest > 4 else 1.0  # counts: whole-number grid lines
    ticks = max(int(math.ceil(highest / step)), 1)
    top_value = step * ticks
    body = [f'<text x="{left}" y="20" font-size="15" font-weight="bold">{escape(title)}</text>']
    for i in range(ticks + 1):  # grid lines and the axis scale
        value = step * i
        y = top + plot_h - plot_h * i / ticks
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{_number(value)}</text>')
    groups = max(len(labels), 1)
    group_w = plot_w / groups
    bar_w = group_w * 0.8 / max(len(series), 1)
    for g, label in enumerate(labels):
        x0 = left + g * group_w + group_w * 0.1
        for s, (_, values) in enumerate(series):
            value = values[g]
            h = plot_h * value / top_value
            x = x0 + s * bar_w
            body.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                        f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(label)}: {_number(value)}</title></rect>')
            if value:
                body.append(f'<text x="{x + (bar_w - 2) / 2:.1f}" y="{top + plot_h - h - 3:.1f}" font-size="10" '
                            f'text-anchor="middle">{_number(value)}</text>')
        body.append(f'<text x="{left + g * group_w + group_w / 2:.1f}" y="{top + plot_h + 16}" font-size="11" '
                    f'text-anchor="middle">{escape(label)}</text>')
    for s, (name, _) in enumerate(series):
        x = left + s * 120
        body.append(f'<rect x="{x}" y="{height - 18}" width="12" height="12" fill="{PALETTE[s % len(PALETTE)]}"/>')
        body.append(f'<text x="{x + 17}" y="{height - 8}" font-size="12">{escape(name)}</text>')
    return _svg(width, height, body, title)


def donut(parts: Sequence[tuple[str, float, str]], title: str) -> Markup:
    """A ring of (label, value, colour) parts with a legend giving count and share."""
    width, height = 460, 240
    cx, cy, r, ring = 110, 130, 80, 34
    total = sum(v for _, v, _ in parts)
    body = [f'<text x="10" y="20" font-size="15" font-weight="bold">{escape(title)}</text>']
    if total <= 0:
        body.append(f'<circle cx="{cx}" cy="{cy}" r="{r - ring / 2}" fill="none" stroke="#eee" '
                    f'stroke-width="{ring}"/>')
    circumference = 2 * math.pi * (r - ring / 2)
    offset = 0.0
    for label, value, colour in parts:
        if value <= 0:
            continue
        length = circumference * value / total
        # one stroked circle per part, its dash placed along the ring (starting at 12 o'clock)
        body.append(f'<circle cx="{cx}" cy="{cy}" r="{r - ring / 2:.2f}" fill="none" stroke="{colour}" '
                    f'stroke-width="{ring}" stroke-dasharray="{length:.2f} {circumference - length:.2f}" '
                    f'stroke-dashoffset="{-offset:.2f}" transform="rotate(-90 {cx} {cy})">'
                    f'<title>{escape(label)}: {_number(value)}</title></circle>')
        offset += length
    body.append(f'<text x="{cx}" y="{cy + 8}" font-size="24" font-weight="bold" text-anchor="middle">'
                f'{_number(total)}</text>')
    for i, (label, value, colour) in enumerate(parts):
        y = 56 + i * 26
        share = f"{value / total * 100:.0f}%" if total else "0%"
        body.append(f'<rect x="230" y="{y - 11}" width="14" height="14" fill="{colour}"/>')
        body.append(f'<text x="250" y="{y}" font-size="13">{escape(label)}: {_number(value)} ({share})</text>')
    return _svg(width, height, body, title)


def horizontal_bars(items: Sequence[tuple[str, float, str]], title: str, *, maximum: float | None = None,
                    colour: str = PALETTE[0]) -> Markup:
    """One bar per (label, value, text shown at the bar's end), longest scale `maximum`."""
    label_w, bar_max, row_h = 300, 380, 28
    width = label_w + bar_max + 110
    height = 40 + row_h * max(len(items), 1)
    top_value = maximum if maximum else _nice_max(max((v for _, v, _ in items), default=0))
    body = [f'<text x="10" y="20" font-size="15" font-weight="bold">{escape(title)}</text>']
    for i, (label, value, text) in enumerate(items):
        y = 36 + i * row_h
        w = bar_max * min(value / top_value, 1.0) if top_value else 0
        body.append(f'<text x="{label_w - 8}" y="{y + 15}" font-size="12" text-anchor="end">'
                    f'{escape(_fit(label, 44))}<title>{escape(label)}</title></text>')
        body.append(f'<rect x="{label_w}" y="{y + 2}" width="{bar_max}" height="18" fill="#f1f1f1"/>')
        body.append(f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="18" fill="{colour}">'
                    f'<title>{escape(label)}: {escape(text)}</title></rect>')
        body.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" font-size="12">{escape(text)}</text>')
    return _svg(width, height, body, title)
