"""The SLO result drawn: latency before and after per route, and the 5xx rate per route.

Latency: one strip per route and window. The line runs from p5 to p99, the box from p25 to
p75, the bar marks p50, the dot p95 and the ring p99; the dashed red line is the p95 the budget
allows. Each route has its own scale (a health check and a search differ tenfold). Error rate:
a bar per window on a shared scale, with the rate the budget allows as a dashed red tick.
"""

from __future__ import annotations

from html import escape

from releaseops.gate import svg
from releaseops.gate.slo_views import Lane, RouteView, SloViews

BEFORE = "#8c959f"
AFTER = "#0969da"
RED = "#cf222e"
GREY = "#57606a"
WIDTH = 980
CHART_L, CHART_R = 262, 612
NUMBERS_X = 628
MAX_ROUTES = 20


def _status(view: RouteView) -> tuple[str, str]:
    """The route's state in words, and its colour."""
    if view.latency_regressed or view.errors_regressed:
        what = ["latency"] if view.latency_regressed else []
        what += ["5xx"] if view.errors_regressed else []
        return f"regressed: {' and '.join(what)}", RED
    if view.not_judged:
        return "not judged: too little traffic", GREY
    if view.after is None:
        return "baseline", GREY
    return "within budget", "#1a7f37"


def _route_label(view: RouteView, y: float) -> list[str]:
    state, colour = _status(view)
    return [
        svg.text(4, y + 12, _short(view.route), size=12, font_weight="600"),
        svg.text(4, y + 27, state, size=11, fill=colour),
    ]


def _lane_marks(lane: Lane, scale: svg.Scale, y: float, colour: str) -> list[str]:
    """One window's strip at height y (12 px tall)."""
    lv = lane.levels
    marks = []
    low, high = lv.get(5, lv.get(50)), lv.get(99, lv.get(95))
    if low is not None and high is not None:
        marks.append(svg.line(scale(low), y + 6, scale(high), y + 6, colour, stroke_width="1.5"))
    if 25 in lv and 75 in lv:
        marks.append(
            svg.rect(
                scale(lv[25]), y + 1, scale(lv[75]) - scale(lv[25]), 10, colour, fill_opacity="0.35"
            )
        )
    if 50 in lv:
        marks.append(
            svg.line(scale(lv[50]), y - 1, scale(lv[50]), y + 13, colour, stroke_width="3")
        )
    if 95 in lv:
        marks.append(svg.circle(scale(lv[95]), y + 6, 3.5, colour))
    if 99 in lv:
        marks.append(
            svg.circle(scale(lv[99]), y + 6, 3.5, "#fff", stroke=colour, stroke_width="1.5")
        )
    if lv.get(100, 0.0) > scale.top:
        marks.append(svg.text(CHART_R + 3, y + 10, "›", size=12, fill=colour))
    return marks


def _lane_numbers(name: str, lane: Lane | None, y: float, colour: str) -> str:
    if lane is None:
        return svg.text(NUMBERS_X, y + 10, f"{name}: no requests", fill=GREY)
    parts = [f"p{k} {svg.figure(lane.levels[k])}" for k in (50, 95, 99) if k in lane.levels]
    return svg.text(
        NUMBERS_X, y + 10, f"{name}: {' · '.join(parts)} ms · n={lane.requests}", fill=colour
    )


def _latency_row(view: RouteView, y: float) -> list[str]:
    lanes = (("before", view.before, BEFORE), ("after", view.after, AFTER))
    values = [v for _, lane, _ in lanes if lane for k, v in lane.levels.items() if k < 100]
    scale = svg.Scale(svg.nice_max(max(values, default=1.0) * 1.1), CHART_L, CHART_R)
    body = _route_label(view, y)
    for index, (name, lane, colour) in enumerate(lanes):
        lane_y = y + 4 + 18 * index
        if view.latency_regressed and name == "after":
            colour = RED
        if lane is not None:
            body += _lane_marks(lane, scale, lane_y, colour)
        body.append(_lane_numbers(name, lane, lane_y, colour))
    allowed = view.allowed.get("p95")
    if allowed is not None and allowed <= scale.top:
        x = scale(allowed)
        body.append(svg.line(x, y, x, y + 38, RED, stroke_dasharray="4 3"))
    elif allowed is not None:
        note = f"p95 budget {svg.figure(allowed)} ms (off this scale)"
        body.append(svg.text(4, y + 42, note, size=10, fill=RED))
    for tick in scale.ticks(4):
        body.append(svg.text(scale(tick), y + 48, f"{tick:g}", size=9, anchor="middle", fill=GREY))
    body.append(svg.line(0, y + 54, WIDTH, y + 54, "#d0d7de"))
    return body


def latency_chart(views: SloViews) -> str:
    """The latency strips of every route (most important first)."""
    routes = views.routes[:MAX_ROUTES]
    body = [
        svg.text(
            CHART_L,
            12,
            "line p5–p99 · box p25–p75 · bar p50 · dot p95 · ring p99 (ms)",
            size=11,
            fill=GREY,
        ),
        svg.text(
            NUMBERS_X, 12, "before = baseline window, after = after the deploy", size=11, fill=GREY
        ),
        svg.line(CHART_L, 20, CHART_L + 24, 20, RED, stroke_dasharray="4 3"),
        svg.text(CHART_L + 30, 24, "p95 the budget allows", size=11, fill=RED),
    ]
    for index, view in enumerate(routes):
        body += _latency_row(view, 34 + 58 * index)
    height = 34 + 58 * len(routes) + 4
    return svg.svg(
        WIDTH,
        height,
        "Latency per route before and after the deploy",
        body,
        id="releaseops-slo-latency",
    )


def _rate(lane: Lane | None) -> str:
    if lane is None:
        return "no requests"
    return f"{lane.errors}/{lane.requests} ({lane.error_rate:.2%})"


def _short(route: str) -> str:
    return route if len(route) <= 38 else route[:37] + "…"


def _error_row(view: RouteView, scale: svg.Scale, y: float) -> list[str]:
    """One route's two bars (before, after), the allowed rate, and the counts."""
    body = [svg.text(4, y + 14, _short(view.route), size=12)]
    for index, (lane, fill) in enumerate(((view.before, BEFORE), (view.after, AFTER))):
        if lane is None:
            continue
        fill = RED if index == 1 and view.errors_regressed else fill
        bar_y = y + 3 + 14 * index
        body.append(svg.rect(CHART_L, bar_y, scale(lane.error_rate) - CHART_L, 11, fill))
        body.append(svg.line(CHART_L, bar_y, CHART_L, bar_y + 11, GREY))
    allowed = ""
    if view.allowed_rate is not None:
        x = scale(view.allowed_rate)
        body.append(svg.line(x, y, x, y + 31, RED, stroke_dasharray="4 3"))
        allowed = f" · allowed {view.allowed_rate:.2%}"
    before_colour = BEFORE if view.before else GREY
    after_colour = RED if view.errors_regressed else AFTER
    body.append(svg.text(NUMBERS_X, y + 13, f"before {_rate(view.before)}", fill=before_colour))
    body.append(
        svg.text(NUMBERS_X, y + 27, f"after {_rate(view.after)}{allowed}", fill=after_colour)
    )
    return body


def errors_chart(views: SloViews) -> str:
    """The 5xx rate per route and window, on one scale, with the budget's allowed rate."""
    routes = views.routes[:MAX_ROUTES]
    rates = [lane.error_rate for v in routes for lane in (v.before, v.after) if lane]
    rates += [v.allowed_rate for v in routes if v.allowed_rate is not None]
    scale = svg.Scale(svg.nice_max(max(rates, default=0.0) or 0.01), CHART_L, CHART_R)
    legend = "5xx answers / requests; dashed red: the rate the budget allows"
    body = [svg.text(CHART_L, 12, legend, size=11, fill=GREY)]
    for index, view in enumerate(routes):
        body += _error_row(view, scale, 24 + 40 * index)
    axis_y = 24 + 40 * len(routes) + 10
    for tick in scale.ticks(4):
        body.append(
            svg.text(scale(tick), axis_y, f"{tick:.1%}", size=9, anchor="middle", fill=GREY)
        )
    label = "5xx rate per route before and after the deploy"
    return svg.svg(WIDTH, axis_y + 6, label, body, id="releaseops-slo-errors")


def section(views: SloViews | None) -> str:
    """The SLO section of report.html, or '' when the run has no SLO evidence."""
    if views is None:
        return ""
    more = len(views.routes) - MAX_ROUTES
    note = f"<p>{more} more route(s) in evidence.json.</p>" if more > 0 else ""
    title = (
        "SLO: after the deploy against the baseline"
        if views.compared
        else "SLO baseline (before the deploy)"
    )
    return (
        f"<section id='releaseops-slo'><h3>{escape(title)}</h3>"
        f"<h4>Latency per route</h4>{latency_chart(views)}"
        f"<h4>5xx rate per route</h4>{errors_chart(views)}{note}</section>"
    )
