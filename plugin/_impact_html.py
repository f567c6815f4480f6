"""The impact report as one self-contained HTML file, charts drawn offline.

Charts are drawn by matplotlib into SVG and placed inline: the file loads
nothing (no scripts, fonts, style sheets or images from anywhere), so it can
be mailed or attached to a board paper as it is. Glyphs are drawn as paths,
so the charts look the same without the fonts installed.
"""
from __future__ import annotations

import html
import io
import re
from typing import Any

import matplotlib
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator

OUTCOMES = ("allow", "notify", "license", "deny")
#: Outcome colours, readable by most colour-blind readers (Okabe-Ito).
COLOURS = {"allow": "#009E73", "notify": "#56B4E9", "license": "#E69F00", "deny": "#D55E00"}
INK, GRID = "#222222", "#dddddd"
TOP_COUNTRIES = 12
TOP_QUOTA = 12
DETAIL_ROWS = 500

_RC: dict[str, Any] = {"svg.fonttype": "path", "svg.hashsalt": "exportgate-impact", "font.size": 10,
       "axes.edgecolor": "#888888", "axes.labelcolor": INK, "xtick.color": INK,
       "ytick.color": INK, "axes.spines.top": False, "axes.spines.right": False}


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    start = text.find("<svg")
    svg = text[start:]
    return re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _n(x: Any) -> str:
    if x is None:
        return "-"
    return f"{x:,.1f}" if isinstance(x, float) else f"{x:,}"


# -- charts ---------------------------------------------------------------------


def chart_outcomes(report: dict[str, Any]) -> str:
    """Outcome mix, before and after, in lines and in H100-equivalents."""
    sides = ("before", "after")
    fig = Figure(figsize=(9.5, 2.9))
    axes = fig.subplots(1, 2)
    for ax, measure, title in ((axes[0], "lines", "Order lines"),
                               (axes[1], "h100eq", "H100-equivalents")):
        totals = [sum(report["outcomes"][s][o][measure] for o in OUTCOMES) for s in sides]
        left = [0.0, 0.0]
        for o in OUTCOMES:
            values = [float(report["outcomes"][s][o][measure]) for s in sides]
            ax.barh([1, 0], values, left=left, color=COLOURS[o], label=o, height=0.6)
            for y, v, x0, total in zip([1, 0], values, left, totals, strict=True):
                if total and v / total >= 0.08:
                    ax.text(x0 + v / 2, y, f"{v:,.0f}", ha="center", va="center",
                            color="white", fontsize=9, fontweight="bold")
            left = [a + b for a, b in zip(left, values, strict=True)]
        ax.set_yticks([1, 0], ["before", "after"])
        ax.set_title(title, loc="left", fontsize=11)
        ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
        ax.xaxis.set_major_formatter(FuncFormatter(_short))
        ax.xaxis.grid(True, color=GRID)
        ax.set_axisbelow(True)
    axes[0].legend(ncols=4, loc="upper left", bbox_to_anchor=(0, -0.16), frameon=False)
    return _svg(fig)


def _short(x: float, _pos: int | None = None) -> str:
    """Axis numbers a person reads at a glance: 120k, 1.5M."""
    if abs(x) >= 1_000_000:
        return f"{x / 1_000_000:g}M"
    if abs(x) >= 10_000:
        return f"{x / 1_000:g}k"
    return f"{x:,.0f}"


def chart_transitions(report: dict[str, Any]) -> str:
    """Lines (and orders) by outcome before (rows) and after (columns)."""
    cells = {(t["from"], t["to"]): t for t in report["transitions"]}
    biggest = max([t["lines"] for t in report["transitions"] if t["changed"]] or [1])
    cmap = LinearSegmentedColormap.from_list("moves", ["#fff4e0", "#E69F00", "#9a4a00"])
    fig = Figure(figsize=(5.6, 4.6))
    ax = fig.subplots()
    n = len(OUTCOMES)
    for i, a in enumerate(OUTCOMES):
        for j, b in enumerate(OUTCOMES):
            t = cells.get((a, b))
            lines = t["lines"] if t else 0
            if a == b:
                face = "#eeeeee"
            elif lines:
                face = cmap(0.25 + 0.75 * lines / biggest)
            else:
                face = "white"
            ax.add_patch(Rectangle((j, n - 1 - i), 1, 1, facecolor=face,
                                                      edgecolor="#bbbbbb"))
            if lines:
                dark = a != b and lines / biggest > 0.55
                ax.text(j + 0.5, n - 0.5 - i, f"{lines:,}\n{t['orders']:,} ord." if t else "",
                        ha="center", va="center", fontsize=9,
                        color="white" if dark else INK)
    ax.set_xlim(0, n)
    ax.set_ylim(0, n)
    ax.set_xticks([j + 0.5 for j in range(n)], OUTCOMES)
    ax.set_yticks([n - 0.5 - i for i in range(n)], OUTCOMES)
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.set_xlabel("after")
    ax.set_ylabel("before")
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_aspect("equal")
    return _svg(fig)


def chart_countries(report: dict[str, Any]) -> str:
    """Lines per outcome by destination country, before and after (most changed first)."""
    rows = report["countries"][:TOP_COUNTRIES]
    fig = Figure(figsize=(9.5, 0.42 * max(len(rows), 2) + 1.2))
    axes = fig.subplots(1, 2, sharey=True, sharex=True)
    ys = list(range(len(rows)))[::-1]
    for ax, side in zip(axes, ("before", "after"), strict=True):
        left = [0] * len(rows)
        for o in OUTCOMES:
            values = [r[side].get(o, 0) for r in rows]
            ax.barh(ys, values, left=left, color=COLOURS[o], label=o, height=0.7)
            left = [a + b for a, b in zip(left, values, strict=True)]
        ax.set_title(f"{side}: {report['sides'][side]['label']}", loc="left", fontsize=10)
        ax.xaxis.grid(True, color=GRID)
        ax.set_axisbelow(True)
        ax.set_xlabel("lines")
    labels = [f"{r['country']}  ({r['changed_lines']:,} changing)" if r["changed_lines"]
              else r["country"] for r in rows]
    axes[0].set_yticks(ys, labels)
    axes[1].legend(ncols=4, loc="lower right", bbox_to_anchor=(1, 1.08), frameon=False)
    return _svg(fig)


def chart_quota(report: dict[str, Any]) -> str | None:
    """Use of the fullest capped quota keys against their caps, on each side."""
    best: dict[str, dict[str, Any]] = {}
    for side in ("before", "after"):
        for q in report["quota"][side]:
            if q["cap"]:
                best.setdefault(q["quota"], {})[side] = q
    if not best:
        return None

    def rank(key: str) -> tuple[int, float]:
        sides = best[key].values()
        return (-int(any(q["ran_out"] for q in sides)), -max(q["share"] or 0 for q in sides))

    keys = sorted(best, key=rank)[:TOP_QUOTA]
    fig = Figure(figsize=(9.5, 0.5 * len(keys) + 1.3))
    ax = fig.subplots()
    ys = list(range(len(keys)))[::-1]
    for offset, side, colour in ((0.18, "before", "#8c8c8c"), (-0.18, "after", "#0072B2")):
        shares = [100 * (best[k].get(side, {}).get("share") or 0) for k in keys]
        ax.barh([y + offset for y in ys], shares, height=0.34, color=colour,
                label=f"{side}: {report['sides'][side]['label']}")
        for y, k, s in zip(ys, keys, shares, strict=True):
            q = best[k].get(side)
            if q and q["ran_out"]:
                ax.text(s + 1, y + offset, f"runs out at {q['ran_out']['order']}",
                        va="center", fontsize=8, color="#D55E00")
    ax.axvline(100, color="#D55E00", linestyle="--", linewidth=1)
    ax.set_yticks(ys, keys)
    ax.set_xlabel("% of cap used (shipped and screened)")
    ax.set_xlim(0, 130)
    ax.xaxis.grid(True, color=GRID)
    ax.set_axisbelow(True)
    ax.legend(loc="lower right", bbox_to_anchor=(1, 1.0), frameon=False, ncols=2, fontsize=8)
    return _svg(fig)


# -- the page -----------------------------------------------------------------------

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
       margin: 24px auto; max-width: 1040px; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px;
  border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.sub { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 8px 0 12px; }
th, td { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: right; }
th { background: #f6f6f6; } td.l, th.l { text-align: left; }
.kpi { display: flex; gap: 12px; flex-wrap: wrap; margin: 12px 0; }
.kpi div { background: #f6f6f6; border-radius: 6px; padding: 8px 14px; }
.kpi b { display: block; font-size: 20px; }
.o { display: inline-block; padding: 0 6px; border-radius: 3px; color: #fff;
     font-size: 12px; }
.allow { background: #009E73; } .notify { background: #56B4E9; }
.license { background: #E69F00; } .deny { background: #D55E00; }
.row { display: flex; gap: 24px; align-items: flex-start; flex-wrap: wrap; }
svg { max-width: 100%; height: auto; }
"""


def _o(outcome: str) -> str:
    return f'<span class="o {_e(outcome)}">{_e(outcome)}</span>'


def _table(head: list[str], rows: list[list[str]], left: int = 1,
           text: tuple[int, ...] = ()) -> str:
    """A table whose first ``left`` columns (and those in ``text``) are text, the rest numbers."""
    def cls(i: int) -> str:
        return ' class="l"' if i < left or i in text or i - len(head) in text else ""

    th = "".join(f"<th{cls(i)}>{h}</th>" for i, h in enumerate(head))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{c}</td>" for i, c in enumerate(r))
                   + "</tr>" for r in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def render_html(report: dict[str, Any]) -> str:
    """The whole report as one HTML document."""
    with matplotlib.rc_context(_RC):  # type: ignore[arg-type]
        outcomes_svg = chart_outcomes(report)
        moves_svg = chart_transitions(report)
        countries_svg = chart_countries(report)
        quota_svg = chart_quota(report)
    sides, book, ch = report["sides"], report["book"], report["changed"]
    parts: list[str] = []
    add = parts.append
    add("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">")
    add('<meta name="viewport" content="width=device-width, initial-scale=1">')
    add(f"<title>Impact: {_e(sides['after']['label'])}</title><style>{_CSS}</style></head>")
    add("<body>")
    add(f"<h1>Impact of {_e(sides['after']['label'])}</h1>")
    add(f'<p class="sub">against {_e(sides["before"]["label"])} '
        f'({_e(sides["before"]["title"])})</p>')
    if book["kind"] == "files":
        source = "files " + ", ".join(_e(f) for f in book.get("files", []))
    else:
        source = (f"orders open in the ledger {_e(book['ledger'])}, as the decision log "
                  f"{_e(book['audit_log'])} last recorded them")
    add(f"<p>Order book: {_n(book['orders'])} orders, {_n(book['lines'])} lines, "
        f"{_n(book['h100eq'])} H100-equivalents; {source}.</p>")
    if book["kind"] == "ledger" and book.get("missing"):
        add(f"<p>Not in the decision log, not screened: {_e(', '.join(book['missing']))}</p>")
    add('<div class="kpi">')
    add(f"<div><b>{_n(ch['lines'])}</b>lines change outcome</div>")
    add(f"<div><b>{_n(ch['orders'])}</b>orders affected</div>")
    add(f"<div><b>{_n(ch['h100eq'])}</b>H100-eq move</div>")
    add(f"<div><b>{_n(len(report['ran_out']))}</b>quota keys run out</div>")
    add("</div>")

    add("<h2>Outcome mix</h2>")
    add(outcomes_svg)
    rows = []
    for o in OUTCOMES:
        b, a = report["outcomes"]["before"][o], report["outcomes"]["after"][o]
        rows.append([_o(o), _n(b["lines"]), _n(b["orders"]), _n(b["h100eq"]),
                     _n(a["lines"]), _n(a["orders"]), _n(a["h100eq"])])
    add(_table(["outcome", "lines before", "orders before", "H100-eq before", "lines after",
                "orders after", "H100-eq after"], rows))

    add("<h2>Transitions</h2><div class=\"row\"><div>")
    add(moves_svg)
    add("</div><div>")
    moves = [t for t in report["transitions"] if t["changed"]]
    add(_table(["move", "lines", "orders", "TPP", "H100-eq"],
               [[f"{_o(t['from'])} &rarr; {_o(t['to'])}", _n(t["lines"]), _n(t["orders"]),
                 _n(t["tpp"]), _n(t["h100eq"])] for t in moves])
        if moves else "<p>No line changes outcome.</p>")
    add("</div></div>")

    add("<h2>By destination country</h2>")
    add(countries_svg)
    add(_table(["country", "lines", "orders", "lines changing", "orders changing", "moves"],
               [[_e(c["country"]), _n(c["lines"]), _n(c["orders"]), _n(c["changed_lines"]),
                 _n(c["changed_orders"]),
                 "; ".join(f"{_e(t['from'])} &rarr; {_e(t['to'])} {t['lines']:,}"
                           for t in c["transitions"])]
                for c in report["countries"]], left=1, text=(-1,)))

    add(f"<h2>By consignee (top {len(report['consignees'])} of "
        f"{report['consignees_total']})</h2>")
    add(_table(["consignee", "name", "lines", "lines changing", "orders changing", "moves"],
               [[_e(c["consignee"]), _e(c.get("name") or ""), _n(c["lines"]),
                 _n(c["changed_lines"]), _n(c["changed_orders"]),
                 "; ".join(f"{_e(t['from'])} &rarr; {_e(t['to'])} {t['lines']:,}"
                           for t in c["transitions"])]
                for c in report["consignees"]], left=2, text=(-1,)))

    add("<h2>Quota against caps</h2>")
    add(quota_svg or "<p>No capped quota is used on either side.</p>")
    if report["ran_out"]:
        add(_table(["side", "quota key", "cap (TPP)", "runs out at order", "line",
                    "lines turned away", "orders"],
                   [[_e(r["side"]), _e(r["quota"]), _n(r["cap"]), _e(r["order"]),
                     _e(r["line"]), _n(r["refused_lines"]), _n(r["refused_orders"])]
                    for r in report["ran_out"]], left=2))

    changed = [o for o in report["orders"] if o["changes"]]
    add(f"<h2>Order by order ({len(changed):,} of {len(report['orders']):,} orders change "
        "in outcome or deciding reason)</h2>")
    rows = []
    for entry in changed[:DETAIL_ROWS]:
        for c in entry["changes"]:
            rows.append([_e(entry["order"]), _e(c["line"]), _e(entry["country"]),
                         _e(entry["consignee"]),
                         f"{_o(c['before'])} {_e(c['reason_before'])}",
                         f"{_o(c['after'])} {_e(c['reason_after'])}", _n(c["tpp"])])
    add(_table(["order", "line", "country", "consignee", "before", "after", "TPP"], rows,
               left=6))
    if len(changed) > DETAIL_ROWS:
        add(f"<p>The first {DETAIL_ROWS} orders are shown; <code>exportgate diff --json</code> "
            "has all of them.</p>")
    add("</body></html>\n")
    return "".join(parts)
