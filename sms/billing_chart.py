"""The billing chart as inline SVG, drawn on the server from `billing_reports.daily_figures`: three
panels over the same days (messages a day, delivery rate, spend a day). No script, no font or file
from elsewhere: the page works offline.

Every value written into the markup is a number or a date this module formats; nothing typed by a
user reaches it.
"""
import math
from decimal import Decimal

from django.utils.safestring import SafeString, mark_safe

WIDTH = 960
LEFT, RIGHT = 78, 24
PANEL_HEIGHT = 150  # the plot area of one panel
PANEL_TOP = 34      # room for its title above it
PANEL_BOTTOM = 30   # room for the day labels below it
PLOT_WIDTH = WIDTH - LEFT - RIGHT

COLOURS = {"messages": "#417690", "rate": "#2e7d32", "spend": "#b26a00", "grid": "#d8d8d8", "text": "#333333",
           "weekend": "#f1f1f1"}


def nice_ceiling(value: float) -> tuple[float, float]:
    """A round top for an axis at or above `value`, and its step (4 or 5 steps of 1, 2, 2.5 or 5 × 10ⁿ)."""
    if value <= 0:
        return 1.0, 0.25
    raw = value / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * magnitude
        if step * 4 >= value or step * 5 >= value:
            top = step * math.ceil(value / step)
            return top, step
    return value, value / 4


def _label(value: float, kind: str) -> str:
    if kind == "rate":
        return f"{value:.0%}"
    if kind == "spend":
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def _panel(days, y0: int, title: str, kind: str, values: list[float | None], top: float, step: float) -> list[str]:
    out = [f'<text x="{LEFT}" y="{y0 - 12}" font-size="15" font-weight="bold" fill="{COLOURS["text"]}">{title}</text>']
    n = len(days)
    slot = PLOT_WIDTH / max(n, 1)

    def y_of(v: float) -> float:
        return y0 + PANEL_HEIGHT - (v / top) * PANEL_HEIGHT

    for i, day in enumerate(days):  # weekends shaded: the week's rhythm at a glance
        if day.weekday() >= 5:
            out.append(f'<rect x="{LEFT + slot * i:.1f}" y="{y0}" width="{slot:.1f}" height="{PANEL_HEIGHT}" '
                       f'fill="{COLOURS["weekend"]}"/>')
    ticks = int(round(top / step))
    for t in range(ticks + 1):
        v = t * step
        y = y_of(v)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{COLOURS["grid"]}" '
                   f'stroke-width="1"/>')
        out.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" font-size="12" text-anchor="end" '
                   f'fill="{COLOURS["text"]}">{_label(v, kind)}</text>')
    colour = COLOURS[kind]
    if kind == "rate":
        points = [(LEFT + slot * (i + 0.5), y_of(v)) for i, v in enumerate(values) if v is not None]
        runs, run = [], []
        for i, v in enumerate(values):  # a day without a final outcome breaks the line
            if v is None:
                if run:
                    runs.append(run)
                run = []
            else:
                run.append((LEFT + slot * (i + 0.5), y_of(v)))
        if run:
            runs.append(run)
        for run in runs:
            if len(run) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
        for (x, y), (day, v) in zip(points, [(d, v) for d, v in zip(days, values) if v is not None]):
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">'
                       f'<title>{day.isoformat()}: {v:.1%} delivered</title></circle>')
    else:
        bar = max(slot * 0.7, 1)
        for i, (day, v) in enumerate(zip(days, values)):
            if not v:
                continue
            x = LEFT + slot * i + (slot - bar) / 2
            y = y_of(v)
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{y0 + PANEL_HEIGHT - y:.1f}" '
                       f'fill="{colour}"><title>{day.isoformat()}: {_label(v, kind)}</title></rect>')
    # The x axis and a label every 5 days (and the last day).
    base = y0 + PANEL_HEIGHT
    out.append(f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" stroke="{COLOURS["text"]}" '
               f'stroke-width="1"/>')
    for i, day in enumerate(days):
        if i % 5 == 0 or i == n - 1:
            x = LEFT + slot * (i + 0.5)
            out.append(f'<text x="{x:.1f}" y="{base + 18}" font-size="12" text-anchor="middle" '
                       f'fill="{COLOURS["text"]}">{day.strftime("%m-%d")}</text>')
    return out


def chart_svg(days) -> SafeString:
    """The three panels for `days` (`billing_reports.Day` rows, oldest first) as one `<svg>` element."""
    dates = [d.day for d in days]
    volume = [float(d.messages) for d in days]
    rates = [d.delivery_rate for d in days]
    spend = [float(d.spend) for d in days]
    panel = PANEL_TOP + PANEL_HEIGHT + PANEL_BOTTOM
    height = panel * 3 + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
             f'height="{height}" role="img" aria-label="Messages, delivery rate and spend a day" '
             'font-family="sans-serif" class="billing-chart">',
             f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>']
    top, step = nice_ceiling(max(volume, default=0))
    parts += _panel(dates, PANEL_TOP, f"Messages a day (total {int(sum(volume)):,})", "messages", volume, top, step)
    known = [r for r in rates if r is not None]
    overall = (sum(d.delivered for d in days) / sum(d.delivered + d.failed for d in days)) if known else None
    rate_title = "Delivery rate (delivered or verified, of those with a final outcome" + (
        f"; {overall:.1%} over the period)" if overall is not None else ")")
    parts += _panel(dates, panel + PANEL_TOP, rate_title, "rate", rates, 1.0, 0.25)
    total = sum((d.spend for d in days), Decimal("0"))
    top, step = nice_ceiling(max(spend, default=0))
    parts += _panel(dates, 2 * panel + PANEL_TOP, f"Spend a day (charges minus refunds; total {total:,.2f})", "spend",
                    spend, top, step)
    parts.append(f'<text x="{WIDTH - RIGHT}" y="{PANEL_TOP - 12}" font-size="12" text-anchor="end" '
                 f'fill="{COLOURS["text"]}">shaded: Saturdays and Sundays</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # numbers and dates formatted here only (module docstring)
