"""Describes a matplotlib figure as the chart structure E2B's SDKs read.

One Axes gives one chart (line, scatter, bar, pie, box_and_whisker or
unknown); several Axes give a "superchart" whose elements are those charts.
A figure without data gives None. Numbers are rounded to 10 decimals (pie
angles to 4) so float noise from the renderer does not leak into values.
"""

import datetime
import re

import matplotlib.category
import matplotlib.dates
from matplotlib.collections import PathCollection
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch, Rectangle, Wedge
from matplotlib.text import Text

_UNIT = re.compile(r"\[([^\]]*)\]|\s\(([^)]*)\)")
_DATE_CONVERTERS = tuple(
    getattr(matplotlib.dates, name)
    for name in ("DateConverter", "ConciseDateConverter", "_SwitchableDateConverter")
    if hasattr(matplotlib.dates, name)
)


def figure_to_chart(figure):
    axes = [ax for ax in figure.get_axes() if ax.has_data()]
    if not axes:
        return None
    if figure.stale:
        figure.canvas.draw()
    if len(axes) == 1:
        return axes_to_chart(axes[0])
    suptitle = getattr(figure, "_suptitle", None)
    return {
        "type": "superchart",
        "title": (suptitle.get_text() or None) if suptitle is not None else None,
        "elements": [axes_to_chart(ax) for ax in axes],
    }


def axes_to_chart(ax):
    kind = chart_type(ax)
    if kind in ("line", "scatter"):
        return point_chart(ax, kind)
    if kind == "bar":
        return bar_chart(ax)
    if kind == "pie":
        return pie_chart(ax)
    if kind == "box_and_whisker":
        return box_chart(ax)
    return {"type": "unknown", "title": title_of(ax), "elements": []}


def user_artists(ax):
    children = getattr(ax, "_children", None)
    if children is None:
        children = [*ax.lines, *ax.collections, *ax.patches]
    return [artist for artist in children if not isinstance(artist, Text)]


def is_straight_rule(line):
    """axhline/axvline-style rules: two points on one horizontal or vertical line."""
    xs, ys = line.get_xdata(), line.get_ydata()
    return len(xs) == 2 and len(ys) == 2 and (xs[0] == xs[1] or ys[0] == ys[1])


def chart_type(ax):
    artists = user_artists(ax)
    if not artists:
        return "unknown"
    if all(isinstance(a, Line2D) for a in artists):
        return "line"
    if all(isinstance(a, (PathPatch, Line2D)) for a in artists) and any(isinstance(a, PathPatch) for a in artists):
        return "box_and_whisker"
    artists = [a for a in artists if not (isinstance(a, Line2D) and is_straight_rule(a))]
    if artists and all(isinstance(a, PathCollection) for a in artists):
        return "scatter"
    if artists and all(isinstance(a, Wedge) for a in artists):
        return "pie"
    if artists and all(isinstance(a, Rectangle) for a in artists):
        return "bar"
    return "unknown"


def number(value):
    try:
        return round(float(value), 10)
    except (TypeError, ValueError):
        return value


def point_value(value):
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if type(value).__name__ == "datetime64":
        return str(value.astype("datetime64[s]"))
    if isinstance(value, str):
        return value
    return number(value)


def title_of(ax):
    return ax.get_title() or None


def label_and_unit(text):
    if not text:
        return None, None
    match = _UNIT.search(text)
    unit = (match.group(1) or match.group(2)) if match else None
    return text, unit


def chart_2d(ax, kind, swap=False):
    x_label, x_unit = label_and_unit(ax.get_xlabel())
    y_label, y_unit = label_and_unit(ax.get_ylabel())
    if swap:
        x_label, y_label, x_unit, y_unit = y_label, x_label, y_unit, x_unit
    return {
        "type": kind,
        "title": title_of(ax),
        "x_label": x_label,
        "y_label": y_label,
        "x_unit": x_unit,
        "y_unit": y_unit,
        "elements": [],
    }


def axis_scale(axis, scale):
    converter = getattr(axis, "converter", None)
    if _DATE_CONVERTERS and isinstance(converter, _DATE_CONVERTERS):
        return "datetime"
    if isinstance(converter, matplotlib.category.StrCategoryConverter):
        return "categorical"
    return scale


def axis_ticks(axis, ticks, scale):
    if scale == "datetime":
        return [matplotlib.dates.num2date(t).isoformat() for t in ticks]
    return [number(t) for t in ticks]


def artist_label(artist, prefix, index):
    label = artist.get_label() or ""
    if label.startswith("_"):
        digits = re.search(r"(\d+)$", label)
        return f"{prefix} {digits.group(1) if digits else index}"
    return label


def point_chart(ax, kind):
    chart = chart_2d(ax, kind)
    for name, axis, scale in (("x", ax.xaxis, ax.get_xscale()), ("y", ax.yaxis, ax.get_yscale())):
        detected = axis_scale(axis, scale)
        chart[f"{name}_scale"] = detected
        chart[f"{name}_ticks"] = axis_ticks(axis, axis.get_ticklocs(), detected)
        chart[f"{name}_tick_labels"] = [t.get_text() for t in axis.get_ticklabels()]
    if kind == "line":
        lines = [line for line in ax.get_lines() if not is_straight_rule(line)]
        for index, line in enumerate(lines):
            points = [[point_value(x), point_value(y)] for x, y in zip(line.get_xdata(), line.get_ydata())]
            chart["elements"].append({"label": artist_label(line, "Line", index), "points": points})
    else:
        for index, collection in enumerate(ax.collections):
            points = [[point_value(x), point_value(y)] for x, y in collection.get_offsets()]
            chart["elements"].append({"label": artist_label(collection, "Scatter", index), "points": points})
    return chart


def tick_label_at(axis, position, tolerance):
    best = None
    for loc, text in zip(axis.get_ticklocs(), axis.get_ticklabels()):
        distance = abs(loc - position)
        if distance <= tolerance and (best is None or distance < best[0]):
            best = (distance, text.get_text())
    return best[1] if best else str(number(position))


def bar_chart(ax):
    horizontal = bool(ax.containers) and getattr(ax.containers[0], "orientation", "vertical") == "horizontal"
    chart = chart_2d(ax, "bar", swap=horizontal)
    for index, container in enumerate(ax.containers):
        group = artist_label(container, "Group", index)
        values = getattr(container, "datavalues", None)
        for i, rect in enumerate(container):
            if horizontal:
                center, size, extent = rect.get_y() + rect.get_height() / 2, rect.get_width(), rect.get_height()
                label = tick_label_at(ax.yaxis, center, extent / 2)
            else:
                center, size, extent = rect.get_x() + rect.get_width() / 2, rect.get_height(), rect.get_width()
                label = tick_label_at(ax.xaxis, center, extent / 2)
            value = values[i] if values is not None and i < len(values) else size
            chart["elements"].append({"label": label, "value": number(value), "group": group})
    return chart


def pie_chart(ax):
    elements = []
    for wedge in ax.patches:
        if isinstance(wedge, Wedge):
            elements.append({"label": wedge.get_label(), "angle": round(abs(wedge.theta2 - wedge.theta1), 4), "radius": number(wedge.r)})
    return {"type": "pie", "title": title_of(ax), "elements": elements}


def close(a, b):
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def box_chart(ax):
    patches = [p for p in ax.patches if isinstance(p, PathPatch)]
    boxes = []
    for patch in patches:
        vertices = patch.get_path().vertices
        xs, ys = [number(v) for v in vertices[:, 0]], [number(v) for v in vertices[:, 1]]
        boxes.append({"x0": min(xs), "x1": max(xs), "y0": min(ys), "y1": max(ys)})
    widths = {round(b["x1"] - b["x0"], 6) for b in boxes}
    heights = {round(b["y1"] - b["y0"], 6) for b in boxes}
    # Vertical boxes share their width; horizontal ones (vert=False) their height.
    vertical = len(widths) == 1 or len(heights) != 1
    if not vertical:
        for b in boxes:
            b["x0"], b["x1"], b["y0"], b["y1"] = b["y0"], b["y1"], b["x0"], b["x1"]
    axis = ax.xaxis if vertical else ax.yaxis
    chart = chart_2d(ax, "box_and_whisker", swap=not vertical)
    for b in boxes:
        b.update(low=b["y0"], high=b["y1"], median=None, outliers=[])
    for line in ax.lines:
        xs, ys = [number(v) for v in line.get_xdata()], [number(v) for v in line.get_ydata()]
        if not vertical:
            xs, ys = ys, xs
        if not xs:
            continue
        box = next((b for b in boxes if all(b["x0"] - 1e-9 <= x <= b["x1"] + 1e-9 for x in xs)), None)
        if box is None:
            continue
        if line.get_linestyle() in ("None", "none", " ", ""):
            box["outliers"].extend(ys)
        elif len(ys) == 2 and close(ys[0], ys[1]) and box["y0"] <= ys[0] <= box["y1"] and not close(xs[0], xs[1]):
            box["median"] = ys[0]
        elif len(ys) == 2 and close(xs[0], xs[1]):
            if close(max(ys), box["y0"]):
                box["low"] = min(ys)
            elif close(min(ys), box["y1"]):
                box["high"] = max(ys)
    for b in boxes:
        chart["elements"].append(
            {
                "label": tick_label_at(axis, (b["x0"] + b["x1"]) / 2, (b["x1"] - b["x0"]) / 2),
                "min": b["low"],
                "first_quartile": b["y0"],
                "median": b["median"] if b["median"] is not None else (b["y0"] + b["y1"]) / 2,
                "third_quartile": b["y1"],
                "max": b["high"],
                "outliers": b["outliers"],
            }
        )
    return chart
