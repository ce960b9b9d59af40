"""A small SVG writer for the benchmark charts (standard library only):
grouped horizontal bars on a log scale and line charts. The charts of
nova34.py and scaling.py are drawn from their JSON outputs:

    python3 bench/svg.py            # redraws every chart from docs/bench/*.json
"""
import json
import math
import os
import sys
from xml.sax.saxutils import escape

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "docs", "bench")
COLOURS = ["#d9534f", "#2b7bb9", "#5cb85c", "#f0ad4e", "#6f42c1", "#20a8a8"]
FONT = 'font-family="Helvetica, Arial, sans-serif"'


def _text(x, y, s, size=12, anchor="start", weight="normal", fill="#222"):
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" fill="{fill}" {FONT}>{escape(str(s))}</text>')


def _svg(width, height, body):
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}">\n<rect width="100%" height="100%" fill="white"/>\n'
            + "\n".join(body) + "\n</svg>\n")


def _legend(names, x, y):
    out = []
    for i, name in enumerate(names):
        out.append(f'<rect x="{x}" y="{y + i * 18 - 10}" width="12" height="12" '
                   f'fill="{COLOURS[i % len(COLOURS)]}"/>')
        out.append(_text(x + 18, y + i * 18, name))
    return out


def _log_ticks(lo, hi):
    return [10 ** e for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)]


def fmt_value(v, unit):
    if unit == "s":
        if v < 1e-3:
            return f"{v * 1e6:.3g} µs"
        if v < 1:
            return f"{v * 1e3:.3g} ms"
        return f"{v:.3g} s"
    return f"{v:.3g}{unit}"


def grouped_bars(title, categories, series, unit="s", note=""):
    """Horizontal grouped bars on a log scale. `series`: {name: [value per
    category]} (None: no bar). Each bar is labelled with its value."""
    names = list(series)
    values = [v for vs in series.values() for v in vs if v]
    lo, hi = min(values), max(values)
    ticks = _log_ticks(lo, hi)
    lo_t, hi_t = math.log10(ticks[0]), math.log10(ticks[-1])
    label_w, plot_w, bar_h, gap = 340, 540, 13, 10
    group_h = bar_h * len(names) + gap
    top = 30 + 18 * max(len(names), 2)
    height = top + group_h * len(categories) + 60
    width = label_w + plot_w + 90

    def x_of(v):
        return label_w + (math.log10(v) - lo_t) / (hi_t - lo_t or 1) * plot_w

    body = [_text(10, 22, title, 15, weight="bold")]
    if note:
        body.append(_text(10, 40, note, 11, fill="#555"))
    for t in ticks:
        x = x_of(t)
        body.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" '
                    f'y2="{top + group_h * len(categories)}" stroke="#ddd"/>')
        body.append(_text(x, top + group_h * len(categories) + 16, fmt_value(t, unit), 11, "middle"))
    for ci, cat in enumerate(categories):
        y0 = top + ci * group_h
        body.append(_text(label_w - 8, y0 + group_h / 2, cat, 11, "end"))
        for si, name in enumerate(names):
            v = series[name][ci]
            if not v:
                continue
            y = y0 + si * bar_h
            x1 = x_of(v)
            body.append(f'<rect x="{label_w}" y="{y:.1f}" width="{max(x1 - label_w, 1):.1f}" '
                        f'height="{bar_h - 2}" fill="{COLOURS[si % len(COLOURS)]}"/>')
            body.append(_text(x1 + 4, y + bar_h - 3, fmt_value(v, unit), 10))
    body += _legend(names, width - 160, 18)
    return _svg(width, height, body)


def line_chart(title, series, xlabel, ylabel, note="", y_fmt=lambda v: f"{v:.3g}", markers=True,
               marks=()):
    """Lines through (x, y) points, linear axes from 0. `series`:
    {name: [(x, y), ...]}; `marks`: [(x, label)] drawn as dashed verticals."""
    names = list(series)
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts]
    x_hi = max(xs) or 1
    y_hi = _nice(max(ys) or 1)
    left, top, plot_w, plot_h = 80, 60, 600, 300
    width, height = left + plot_w + 200, top + plot_h + 60

    def px(x):
        return left + x / x_hi * plot_w

    def py(y):
        return top + plot_h - y / y_hi * plot_h

    body = [_text(10, 22, title, 15, weight="bold")]
    if note:
        body.append(_text(10, 40, note, 11, fill="#555"))
    for i in range(6):
        y = y_hi * i / 5
        body.append(f'<line x1="{left}" y1="{py(y):.1f}" x2="{left + plot_w}" y2="{py(y):.1f}" stroke="#ddd"/>')
        body.append(_text(left - 6, py(y) + 4, y_fmt(y), 11, "end"))
    for i in range(6):
        x = x_hi * i / 5
        body.append(_text(px(x), top + plot_h + 16, f"{x:.4g}", 11, "middle"))
    body.append(_text(left + plot_w / 2, top + plot_h + 36, xlabel, 12, "middle"))
    body.append(f'<text x="16" y="{top + plot_h / 2}" font-size="12" text-anchor="middle" {FONT} '
                f'transform="rotate(-90 16 {top + plot_h / 2})">{escape(ylabel)}</text>')
    body.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#888"/>')
    for x, label in marks:
        body.append(f'<line x1="{px(x):.1f}" y1="{top}" x2="{px(x):.1f}" y2="{top + plot_h}" '
                    f'stroke="#999" stroke-dasharray="4 3"/>')
        body.append(_text(px(x) + 3, top + 12, label, 10, fill="#555"))
    for si, name in enumerate(names):
        colour = COLOURS[si % len(COLOURS)]
        pts = series[name]
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        if markers:
            for x, y in pts:
                body.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>')
    body += _legend(names, left + plot_w + 16, top + 10)
    return _svg(width, height, body)


def _nice(v):
    """The smallest of 1, 2, 2.5, 5 × 10^n at or above v."""
    e = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if m * e >= v:
            return m * e
    return 10 * e


def write(name, svg):
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, name)
    with open(path, "w") as f:
        f.write(svg)
    return os.path.relpath(path, ROOT)


def side_by_side_charts(json_path):
    """nova34.py's figures: CPU per request, nova and ours, per path and
    worker count (log scale), and p50 latency the same way."""
    with open(json_path) as f:
        doc = json.load(f)
    rows = doc["rows"]
    cats = [f"{r['path']} ({r['workers']}w)" for r in rows]
    ratios = [f"{c}: {r['nova']['cpu_per_req'] / r['ours']['cpu_per_req']:.0f}×"
              for c, r in zip(cats, rows)]
    note = f"{doc['machine']}; {doc['date']}"
    out = [write("nova34-cpu.svg", grouped_bars(
        "Server CPU per request: nova 34 (uWSGI) vs nova-api-rs (log scale)", ratios,
        {"nova 34": [r["nova"]["cpu_per_req"] for r in rows],
         "nova-api-rs": [r["ours"]["cpu_per_req"] for r in rows]}, "s", note))]
    out.append(write("nova34-p50.svg", grouped_bars(
        "Median latency under load: nova 34 vs nova-api-rs (log scale)", cats,
        {"nova 34": [r["nova"]["p50_ms"] / 1e3 for r in rows],
         "nova-api-rs": [r["ours"]["p50_ms"] / 1e3 for r in rows]}, "s", note)))
    return out


def scaling_charts(json_path):
    """scaling.py's figures: servers/detail latency and CPU per server vs
    servers in the project; a worker's private memory over the load run."""
    with open(json_path) as f:
        doc = json.load(f)
    note = f"{doc['machine']}; {doc['date']}"
    out = []
    for db, detail in doc["detail"].items():
        out.append(write(f"scaling-detail-{db}.svg", line_chart(
            f"GET /v2.1/servers/detail?limit=1000 vs servers in the project ({db})",
            {"p50 (ms)": [(r["servers"], r["p50_ms"]) for r in detail],
             "p99 (ms)": [(r["servers"], r["p99_ms"]) for r in detail],
             "CPU per request (ms)": [(r["servers"], r["cpu_per_req"] * 1e3) for r in detail]},
            "servers in the project", "milliseconds", note)))
    if doc.get("memory"):
        samples = doc["memory"]["samples"]
        out.append(write("memory.svg", line_chart(
            "osapi-compute worker memory over a load run (1 worker)",
            {"private MB": [(s["t"], s["private_mb"]) for s in samples],
             "RSS MB": [(s["t"], s["rss_mb"]) for s in samples]},
            "seconds", "MB", note, markers=False,
            marks=[(p["t"], p["what"]) for p in doc["memory"]["phases"]])))
    return out


def main():
    made = []
    for name, fn in (("nova34.json", side_by_side_charts), ("scaling.json", scaling_charts)):
        path = os.path.join(OUT_DIR, name)
        if os.path.exists(path):
            made += fn(path)
    print("\n".join(made) or "no docs/bench/*.json yet", file=sys.stderr if not made else sys.stdout)


if __name__ == "__main__":
    main()
