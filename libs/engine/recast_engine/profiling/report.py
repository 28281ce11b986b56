"""A profile as one self-contained HTML page: tables and inline SVG charts, no script, no external resource."""
from __future__ import annotations

from html import escape
from typing import Any

BAR_WIDTH = 360
CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;margin:6px 0}td,th{padding:2px 10px 2px 0;text-align:left;vertical-align:top}
th{color:#555;font-weight:600}.num{text-align:right;font-variant-numeric:tabular-nums}
.warn{background:#fff4e5;border-left:4px solid #f08c00;padding:6px 10px;margin:6px 0}
.col{border:1px solid #e5e5e5;border-radius:6px;padding:8px 14px;margin:12px 0}
.charts{display:flex;gap:24px;flex-wrap:wrap}code{background:#f4f4f4;padding:0 3px}
"""


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, int):
        return f"{value:,}"
    return escape(str(value))


def _name(column: dict[str, Any]) -> str:
    return column["name"] if column.get("name") else f"column {column['index'] + 1}"


def _hbars(items: list[tuple[str, float]], total: float, color: str, title: str) -> str:
    """Horizontal bars, one per (label, value), scaled to total."""
    if not items:
        return ""
    row_h, label_w = 18, 150
    height = row_h * len(items) + 22
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + BAR_WIDTH + 70}" height="{height}" '
             f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<text x="0" y="12" font-size="12" fill="#555">{escape(title)}</text>']
    for i, (label, value) in enumerate(items):
        y = 20 + i * row_h
        width = 0 if not total else max(1.0, BAR_WIDTH * value / total) if value else 0
        shown = label if len(label) <= 22 else label[:21] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 12}" font-size="11" text-anchor="end">{escape(shown)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 2}" width="{width:.1f}" height="{row_h - 5}" fill="{color}">'
                     f'<title>{escape(label)}: {_fmt(value)}</title></rect>')
        parts.append(f'<text x="{label_w + width + 4:.1f}" y="{y + 12}" font-size="11">{_fmt(value)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _histogram(histogram: dict[str, Any], title: str) -> str:
    counts, edges = histogram["counts"], histogram["edges"]
    if not counts:
        return ""
    width, height, pad = 380, 150, 24
    peak = max(counts) or 1
    bar = (width - 2 * pad) / len(counts)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 30}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<text x="0" y="12" font-size="12" fill="#555">{escape(title)}</text>']
    for i, count in enumerate(counts):
        h = (height - 30) * count / peak
        x, y = pad + i * bar, height - h
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar - 1, 1):.1f}" height="{h:.1f}" fill="#4c6ef5">'
                     f'<title>{_fmt(edges[i])} – {_fmt(edges[i + 1])}: {count:,}</title></rect>')
    parts.append(f'<line x1="{pad}" y1="{height}" x2="{width - pad}" y2="{height}" stroke="#999"/>')
    parts.append(f'<text x="{pad}" y="{height + 16}" font-size="11">{_fmt(edges[0])}</text>')
    parts.append(f'<text x="{width - pad}" y="{height + 16}" font-size="11" text-anchor="end">{_fmt(edges[-1])}'
                 "</text></svg>")
    return "".join(parts)


def _table(rows: list[tuple[str, Any]]) -> str:
    return "<table>" + "".join(f"<tr><th>{escape(k)}</th><td class=num>{_fmt(v)}</td></tr>" for k, v in rows) + \
        "</table>"


def _column(column: dict[str, Any], data_rows: int) -> str:
    facts = [("kind", column["kind"]), ("nulls", column["nulls"]), ("blanks", column["blanks"]),
             ("distinct" + ("" if column["distinct_exact"] else " (estimate)"), column["distinct"]),
             ("length", f"{_fmt(column['min_length'])} – {_fmt(column['max_length'])}")]
    numeric, dates = column.get("numeric"), column.get("dates")
    if numeric:
        facts += [("min", numeric["min"]), ("max", numeric["max"]), ("mean", numeric["mean"]), ("std", numeric["std"])]
        facts += [(f"q{float(q) * 100:g}", v) for q, v in numeric["quantiles"].items() if q not in ("0.0", "1.0")]
        outliers = numeric.get("outliers")
        if outliers:
            facts.append(("IQR outliers", outliers["count"]))
    if dates:
        facts += [("dates from", dates["min"]), ("dates to", dates["max"]),
                  ("date spellings", ", ".join(dates["spellings"]))]
    if column.get("number_spellings"):
        facts.append(("number spellings", ", ".join(list(column["number_spellings"])[:8])))
    charts = []
    top = [(t["value"], t["count"]) for t in column["top_values"]]
    if top:
        charts.append(_hbars(top, max(c for _, c in top), "#12b886", "top values" +
                             ("" if column["top_values_exact"] else " (approximate counts)")))
    if numeric and numeric.get("histogram"):
        charts.append(_histogram(numeric["histogram"], "histogram" +
                                 ("" if numeric["histogram"].get("exact", True) else " (from the quantile sketch)")))
    examples = ""
    if numeric and numeric.get("outliers") and numeric["outliers"]["examples"]:
        shown = ", ".join(f"<code>{escape(e)}</code>" for e in numeric["outliers"]["examples"])
        examples = f"<p>outlier examples (outside {_fmt(numeric['outliers']['low_fence'])} – " \
                   f"{_fmt(numeric['outliers']['high_fence'])}): {shown}</p>"
    return (f'<div class=col><h3>{escape(_name(column))}</h3><div class=charts>{_table(facts)}{"".join(charts)}'
            f"</div>{examples}</div>")


def file_section(title: str, profile: dict[str, Any]) -> str:
    rows = profile["data_rows"]
    facts = [("rows", profile["rows"]), ("data rows", rows), ("columns", profile["columns"]),
             ("header row", "yes" if profile["header_guess"] else "no"), ("bytes", profile.get("bytes")),
             ("byte order mark", "yes" if profile.get("bom") else "no"), ("ragged rows", profile["ragged_rows"]),
             ("duplicate rows" + ("" if profile["duplicate_rows_exact"] else " (estimate)"), profile["duplicate_rows"]),
             ("empty cells", profile["null_cells"])]
    nulls = [(_name(c), c["nulls"] + c["blanks"]) for c in profile["column_profiles"][:60]]
    null_chart = _hbars(nulls, rows or 1, "#fa5252", "empty cells per column (bar = share of the rows)")
    columns = "".join(_column(c, rows) for c in profile["column_profiles"][:200])
    more = len(profile["column_profiles"]) - 200
    tail = f"<p>… and {more} more columns (in the JSON profile)</p>" if more > 0 else ""
    return f"<h2>{escape(title)}</h2><div class=charts>{_table(facts)}{null_chart}</div>{columns}{tail}"


def render_report(title: str, sections: list[tuple[str, dict[str, Any]]],
                  warnings: list[dict[str, Any]] | None = None) -> str:
    """The HTML page of one or more file profiles (e.g. a train pair), with drift warnings first."""
    body = [f"<h1>{escape(title)}</h1>"]
    if warnings is not None:
        body.append("<h2>Drift from the train input</h2>")
        if not warnings:
            body.append("<p>None: this input looks like the file the conversion was learned on.</p>")
        for w in warnings:
            examples = ", ".join(f"<code>{escape(e)}</code>" for e in w.get("examples", []))
            body.append(f'<div class=warn><b>{escape(w["kind"])}</b> {escape(w["message"])}'
                        f'{" — " + examples if examples else ""}</div>')
    body += [file_section(name, profile) for name, profile in sections]
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>"
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>")
