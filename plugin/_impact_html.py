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
from dataclasses import dataclass
from typing import Any

import matplotlib
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ._impact_quota import turned_away
from ._impact_text import title as report_title

OUTCOMES = ("allow", "notify", "license", "deny")
SIDES = ("before", "after")
#: The command-line flag that names each side.
FLAGS = {"before": "--regime", "after": "--against"}
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

#: Moves from a looser to a stricter outcome are red, the other way blue: a
#: diverging scale of lines, not the outcome colours, so depth reads as "how
#: many" and hue as "worse or better".
MOVES_CMAP = "RdBu_r"
#: Room kept around a label inside its bar, in pixels.
_LABEL_PAD = 4


def _side_name(report: dict[str, Any], side: str) -> str:
    """"before (--regime): us-ai-diffusion-2025": a side as the command line named it."""
    return f"{side} ({FLAGS[side]}): {report['sides'][side]['label']}"


def _figure(width: float, height: float) -> Figure:
    """A figure that can measure its text before it is saved (labels that do not fit go)."""
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _fit_labels(fig: Figure, labelled: list[tuple[Text, Rectangle]]) -> None:
    """Remove each label wider or taller than its bar: labels then never overlap.

    Drawn first, so every extent is the one the saved chart has; a label
    that stays lies inside its own bar, and bars of a stack do not overlap.
    """
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    fig.canvas.draw()
    for text, bar in labelled:
        t, b = text.get_window_extent(renderer), bar.get_window_extent(renderer)
        if t.width + 2 * _LABEL_PAD > b.width or t.height + _LABEL_PAD > b.height:
            text.remove()


def _legend_handles(present: set[str]) -> list[Rectangle]:
    """One entry per outcome that has a bar somewhere in the chart, in outcome order."""
    return [Rectangle((0, 0), 1, 1, color=COLOURS[o], label=o) for o in OUTCOMES
            if o in present]


def chart_outcomes(report: dict[str, Any]) -> str:
    """Outcome mix, before and after, in lines and in H100-equivalents.

    Each segment is labelled with its number only where the number fits
    inside it (`_fit_labels`); the table under the chart has every number.
    """
    sides = SIDES
    fig = _figure(9.5, 2.9)
    axes = fig.subplots(1, 2)
    labelled: list[tuple[Text, Rectangle]] = []
    present: set[str] = set()
    for ax, measure, title in ((axes[0], "lines", "Order lines"),
                               (axes[1], "h100eq", "H100-equivalents")):
        left = [0.0, 0.0]
        for o in OUTCOMES:
            values = [float(report["outcomes"][s][o][measure]) for s in sides]
            bars = ax.barh([1, 0], values, left=left, color=COLOURS[o], height=0.6)
            for side, y, v, x0, bar in zip(sides, [1, 0], values, left, bars, strict=True):
                if not v:
                    continue
                present.add(o)
                bar.set_gid(f"bar-{measure}-{side}-{o}")
                text = ax.text(x0 + v / 2, y, f"{v:,.0f}", ha="center", va="center",
                               color="white", fontsize=9, fontweight="bold")
                text.set_gid(f"label-{measure}-{side}-{o}")
                labelled.append((text, bar))
            left = [a + b for a, b in zip(left, values, strict=True)]
        ax.set_yticks([1, 0], ["before", "after"])
        ax.set_title(title, loc="left", fontsize=11)
        ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
        ax.xaxis.set_major_formatter(FuncFormatter(_short))
        ax.xaxis.grid(True, color=GRID)
        ax.set_axisbelow(True)
    axes[0].legend(handles=_legend_handles(present), ncols=4, loc="upper left",
                   bbox_to_anchor=(0, -0.16), frameon=False)
    _fit_labels(fig, labelled)
    return _svg(fig)


def _short(x: float, _pos: int | None = None) -> str:
    """Axis numbers a person reads at a glance: 120k, 1.5M."""
    if abs(x) >= 1_000_000:
        return f"{x / 1_000_000:g}M"
    if abs(x) >= 10_000:
        return f"{x / 1_000:g}k"
    return f"{x:,.0f}"


def chart_transitions(report: dict[str, Any]) -> str:
    """Lines (and orders) by outcome before (rows) and after (columns), on a signed scale.

    A cell's colour is the number of lines that move, red where the outcome
    after is stricter (worse for the shipment), blue where it is looser, on
    the one scale drawn beside the matrix; unchanged lines are grey.
    """
    cells = {(t["from"], t["to"]): t for t in report["transitions"]}
    biggest = max([t["lines"] for t in report["transitions"] if t["changed"]] or [1])
    norm = Normalize(-biggest, biggest)
    cmap = colormaps[MOVES_CMAP]
    rank = {o: n for n, o in enumerate(OUTCOMES)}
    fig = _figure(6.4, 4.6)
    ax = fig.subplots()
    n = len(OUTCOMES)
    for i, a in enumerate(OUTCOMES):
        for j, b in enumerate(OUTCOMES):
            t = cells.get((a, b))
            lines = t["lines"] if t else 0
            signed = lines if rank[b] > rank[a] else -lines
            face = "#eeeeee" if a == b else cmap(norm(signed))
            cell = ax.add_patch(Rectangle((j, n - 1 - i), 1, 1, facecolor=face,
                                          edgecolor="#bbbbbb"))
            cell.set_gid(f"cell-{a}-{b}")
            if t and lines:
                dark = a != b and abs(signed) / biggest > 0.6
                ax.text(j + 0.5, n - 0.5 - i, f"{lines:,}\n{t['orders']:,} ord.",
                        ha="center", va="center", fontsize=9,
                        color="white" if dark else INK)
    ax.set_xlim(0, n)
    ax.set_ylim(0, n)
    ax.set_xticks([j + 0.5 for j in range(n)], OUTCOMES)
    ax.set_yticks([n - 0.5 - i for i in range(n)], OUTCOMES)
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.set_xlabel("after (--against)")
    ax.set_ylabel("before (--regime)")
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_aspect("equal")
    scale = fig.colorbar(ScalarMappable(norm, cmap), ax=ax, fraction=0.05, pad=0.04)
    scale.ax.set_gid("moves-scale")
    scale.ax.yaxis.set_major_locator(MaxNLocator(6, integer=True, symmetric=True))
    scale.ax.yaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{abs(x):,.0f}"))
    scale.set_label("lines moving: looser after  \u2190 | \u2192  stricter after")
    return _svg(fig)


def chart_countries(report: dict[str, Any]) -> str:
    """Lines per outcome by destination country, before and after (most changed first)."""
    rows = report["countries"][:TOP_COUNTRIES]
    fig = _figure(9.5, 0.42 * max(len(rows), 2) + 1.2)
    axes = fig.subplots(1, 2, sharey=True, sharex=True)
    ys = list(range(len(rows)))[::-1]
    present: set[str] = set()
    for ax, side in zip(axes, ("before", "after"), strict=True):
        left = [0] * len(rows)
        for o in OUTCOMES:
            values = [r[side].get(o, 0) for r in rows]
            if any(values):
                present.add(o)
            ax.barh(ys, values, left=left, color=COLOURS[o], height=0.7)
            left = [a + b for a, b in zip(left, values, strict=True)]
        ax.set_title(_side_name(report, side), loc="left", fontsize=10)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.xaxis.grid(True, color=GRID)
        ax.set_axisbelow(True)
        ax.set_xlabel("lines")
    labels = [f"{r['country']}  ({r['changed_lines']:,} changing)" if r["changed_lines"]
              else r["country"] for r in rows]
    axes[0].set_yticks(ys, labels)
    axes[1].legend(handles=_legend_handles(present), ncols=4, loc="lower right",
                   bbox_to_anchor=(1, 1.08), frameon=False)
    return _svg(fig)


@dataclass(frozen=True)
class QuotaPlan:
    """What the quota chart shows, decided before it is drawn (and tested without pixels)."""

    keys: list[str]
    #: Capped keys on either side, shown or not.
    total: int
    #: Per side: % of cap used per shown key, and the note beside its bar (None: no note).
    shares: dict[str, list[float]]
    notes: dict[str, list[str | None]]

    @property
    def title(self) -> str:
        if len(self.keys) == self.total:
            return f"all {self.total} capped quota keys"
        return (f"{len(self.keys)} of {self.total} capped quota keys shown: those that turn "
                "lines away, then the fullest")

    @property
    def legend(self) -> list[str]:
        """The sides that have a bar: a side without one gets no legend entry."""
        return [side for side in SIDES if any(self.shares[side])]


def _note(q: dict[str, Any] | None) -> str | None:
    """Beside a quota bar: where the key turned lines away (`turned_away`), if it did."""
    if not q or not q["ran_out"]:
        return None
    return turned_away(q["share"], q["ran_out"]["order"])


def quota_plan(report: dict[str, Any]) -> QuotaPlan | None:
    """The fullest capped quota keys (those that turn lines away first), None without caps."""
    best: dict[str, dict[str, Any]] = {}
    for side in SIDES:
        for q in report["quota"][side]:
            if q["cap"]:
                best.setdefault(q["quota"], {})[side] = q
    if not best:
        return None

    def rank(key: str) -> tuple[int, float]:
        sides = best[key].values()
        return (-int(any(q["ran_out"] for q in sides)), -max(q["share"] or 0 for q in sides))

    keys = sorted(best, key=rank)[:TOP_QUOTA]
    shares = {side: [100.0 * (best[k].get(side, {}).get("share") or 0) for k in keys]
              for side in SIDES}
    notes = {side: [_note(best[k].get(side)) for k in keys] for side in SIDES}
    return QuotaPlan(keys, len(best), shares, notes)


def chart_quota(report: dict[str, Any]) -> str | None:
    """Use of the fullest capped quota keys against their caps, on each side."""
    plan = quota_plan(report)
    if plan is None:
        return None
    fig = _figure(9.5, 0.5 * len(plan.keys) + 1.5)
    ax = fig.subplots()
    ys = list(range(len(plan.keys)))[::-1]
    widest = max([100.0, *plan.shares["before"], *plan.shares["after"]])
    for offset, side, colour in ((0.18, "before", "#8c8c8c"), (-0.18, "after", "#0072B2")):
        ax.barh([y + offset for y in ys], plan.shares[side], height=0.34, color=colour,
                label=_side_name(report, side) if side in plan.legend
                else "_nolegend_")
        for y, s, note in zip(ys, plan.shares[side], plan.notes[side], strict=True):
            if note:
                ax.text(s + 1, y + offset, note, va="center", fontsize=8, color="#D55E00")
    ax.axvline(100, color="#D55E00", linestyle="--", linewidth=1)
    ax.set_yticks(ys, plan.keys)
    ax.set_xlabel("% of cap used (shipped and screened)")
    ax.set_xlim(0, widest + 30)
    ax.xaxis.grid(True, color=GRID)
    ax.set_axisbelow(True)
    ax.set_title(plan.title, loc="left", fontsize=10)
    if plan.legend:
        ax.legend(loc="lower right", bbox_to_anchor=(1, 1.06), frameon=False, ncols=2,
                  fontsize=8)
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
td code { white-space: nowrap; }
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


def _side_cells(side: dict[str, Any]) -> list[str]:
    until = side.get("effective_to") or "open-ended"
    params = ", ".join(f"{k}={v}" for k, v in side["overrides"].items()) or "none"
    return [_e(side["label"]), f"{_e(side['title'])} ({_e(side['status'])}, in force "
            f"{_e(side.get('effective_from'))} to {_e(until)})",
            f"<code>{_e(side['revision'])}</code>", _e(params)]


def _provenance(report: dict[str, Any]) -> str:
    """When and by what the report was made, and exactly which rules each side applied.

    The revision is the regime's content hash (policies and data, overrides
    applied); every decision of that side records the same ``revision``.
    """
    sides = report["sides"]
    return (f'<div id="provenance"><p class="sub">Made {_e(report["made"])} by exportgate '
            f'{_e(report["exportgate"])}.</p>'
            + _table(["side", "regime", "title", "revision (policies and data)",
                      "parameters overridden"],
                     [[f"{side} (<code>{FLAGS[side]}</code>)", *_side_cells(sides[side])]
                      for side in SIDES],
                     left=5)
            + "</div>")


def _book_html(report: dict[str, Any]) -> str:
    """Where the order book came from, its size, and the headline figures."""
    book, ch = report["book"], report["changed"]
    if book["kind"] == "files":
        source = "files " + ", ".join(_e(f) for f in book.get("files", []))
    else:
        source = (f"orders open in the ledger {_e(book['ledger'])}, as the decision log "
                  f"{_e(book['audit_log'])} last recorded them")
    out = (f"<p>Order book: {_n(book['orders'])} orders, {_n(book['lines'])} lines, "
           f"{_n(book['h100eq'])} H100-equivalents; {source}.</p>")
    if book["kind"] == "ledger" and book.get("missing"):
        out += f"<p>Not in the decision log, not screened: {_e(', '.join(book['missing']))}</p>"
    return (out + '<div class="kpi">'
            f"<div><b>{_n(ch['lines'])}</b>lines change outcome</div>"
            f"<div><b>{_n(ch['orders'])}</b>orders affected</div>"
            f"<div><b>{_n(ch['h100eq'])}</b>H100-eq move</div>"
            f"<div><b>{_n(len(report['ran_out']))}</b>quota keys turn lines away</div>"
            "</div>")


def _outcomes_html(report: dict[str, Any]) -> str:
    rows = []
    for o in OUTCOMES:
        b, a = report["outcomes"]["before"][o], report["outcomes"]["after"][o]
        rows.append([_o(o), _n(b["lines"]), _n(b["orders"]), _n(b["h100eq"]),
                     _n(a["lines"]), _n(a["orders"]), _n(a["h100eq"])])
    return ("<h2>Outcome mix</h2>" + chart_outcomes(report)
            + _table(["outcome", "lines before", "orders before", "H100-eq before",
                      "lines after", "orders after", "H100-eq after"], rows))


def _transitions_html(report: dict[str, Any]) -> str:
    moves = [t for t in report["transitions"] if t["changed"]]
    table = (_table(["move", "lines", "orders", "TPP", "H100-eq"],
                    [[f"{_o(t['from'])} &rarr; {_o(t['to'])}", _n(t["lines"]),
                      _n(t["orders"]), _n(t["tpp"]), _n(t["h100eq"])] for t in moves])
             if moves else "<p>No line changes outcome.</p>")
    return ("<h2>Transitions</h2><div class=\"row\"><div>" + chart_transitions(report)
            + "</div><div>" + table + "</div></div>")


def _moves(group: dict[str, Any]) -> str:
    return "; ".join(f"{_e(t['from'])} &rarr; {_e(t['to'])} {t['lines']:,}"
                     for t in group["transitions"])


def _groups_html(report: dict[str, Any]) -> str:
    """The destination countries (chart and table), then the consignees that change most."""
    countries = _table(
        ["country", "lines", "orders", "lines changing", "orders changing", "moves"],
        [[_e(c["country"]), _n(c["lines"]), _n(c["orders"]), _n(c["changed_lines"]),
          _n(c["changed_orders"]), _moves(c)] for c in report["countries"]],
        left=1, text=(-1,))
    consignees = _table(
        ["consignee", "name", "lines", "lines changing", "orders changing", "moves"],
        [[_e(c["consignee"]), _e(c.get("name") or ""), _n(c["lines"]),
          _n(c["changed_lines"]), _n(c["changed_orders"]), _moves(c)]
         for c in report["consignees"]], left=2, text=(-1,))
    return ("<h2>By destination country</h2>" + chart_countries(report) + countries
            + f"<h2>By consignee ({len(report['consignees'])} of {report['consignees_total']} "
            f"listed, most changed first; {report['consignees_changed']} change)</h2>"
            + consignees)


def _quota_html(report: dict[str, Any]) -> str:
    out = "<h2>Quota against caps</h2>"
    out += chart_quota(report) or "<p>No capped quota is used on either side.</p>"
    if report["ran_out"]:
        out += _table(["side", "quota key", "cap (TPP)", "first line turned away",
                       "lines turned away", "orders"],
                      [[_e(r["side"]), _e(r["quota"]), _n(r["cap"]),
                        _e(turned_away(r["share"], r["order"], r["line"])),
                        _n(r["refused_lines"]), _n(r["refused_orders"])]
                       for r in report["ran_out"]], left=2, text=(3,))
    return out


def _orders_html(report: dict[str, Any]) -> str:
    """The lines that change, order by order (the first `DETAIL_ROWS` orders)."""
    changed = [o for o in report["orders"] if o["changes"]]
    rows = []
    for entry in changed[:DETAIL_ROWS]:
        for c in entry["changes"]:
            rows.append([_e(entry["order"]), _e(c["line"]), _e(entry["country"]),
                         _e(entry["consignee"]),
                         f"{_o(c['before'])} {_e(c['reason_before'])}",
                         f"{_o(c['after'])} {_e(c['reason_after'])}", _n(c["tpp"])])
    out = (f"<h2>Order by order ({len(changed):,} of {len(report['orders']):,} orders change "
           "in outcome or deciding reason)</h2>"
           + _table(["order", "line", "country", "consignee", "before", "after", "TPP"], rows,
                    left=6))
    if len(changed) > DETAIL_ROWS:
        out += (f"<p>The first {DETAIL_ROWS} orders are shown; <code>exportgate diff --json"
                "</code> has all of them.</p>")
    return out


def render_html(report: dict[str, Any]) -> str:
    """The whole report as one HTML document."""
    name = _e(report_title(report))
    with matplotlib.rc_context(_RC):  # type: ignore[arg-type]
        body = [_provenance(report), _book_html(report), _outcomes_html(report),
                _transitions_html(report), _groups_html(report), _quota_html(report),
                _orders_html(report)]
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{name}</title><style>{_CSS}</style></head>"
            f"<body><h1>{name}</h1>" + "".join(body) + "</body></html>\n")
