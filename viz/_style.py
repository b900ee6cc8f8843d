"""The look shared by viz's pictures: fonts, the diverging palette, numbers, escaping.

One place decides how a gradient becomes a colour, how a number is printed and
how a user's text is made safe for Graphviz, so the computation graph, the
network diagram and the stepper agree with each other.

Colours come from ColorBrewer's RdBu diverging scheme (colour-blind safe):
blue for positive, red for negative, darker for larger magnitude, white-ish
for zero. Magnitudes are binned relative to the largest finite magnitude in
the picture, so the darkest shade always marks the strongest gradients:
``|g| >= 50%`` of the largest, ``10%..50%``, and ``< 10%``. The two darkest
shades carry white text so every label stays readable.
"""

from __future__ import annotations

import math
import re

FONT = "Helvetica,Arial,sans-serif"
EDGE_COLOR = "#5b5b5b"
OP_FILL = "#ececec"
GROUP_FILL = "#e4e4e4"  # a box for many values: no single gradient to show
BOX_FILLS = ("#f2f4f7", "#fbfbfb")  # cluster boxes, alternating by nesting level
NEUTRAL_FILL = "#f7f7f7"
NONFINITE_FILL = "#fdd835"  # nan / inf: amber, outside the red-blue scale
DARK_TEXT = "#1a1a1a"
LIGHT_TEXT = "#ffffff"

# RdBu: strongest negative ... strongest positive.
NEGATIVE = ("#b2182b", "#ef8a62", "#fddbc7")  # strong, medium, weak
POSITIVE = ("#2166ac", "#67a9cf", "#d1e5f0")
THRESHOLDS = (0.5, 0.1)  # fraction of the largest magnitude for "strong", "medium"
_DARK = {NEGATIVE[0], POSITIVE[0]}


def scale_of(numbers) -> float:
    """The largest finite magnitude among numbers (0.0 when there is none)."""
    return max((abs(x) for x in numbers if math.isfinite(x)), default=0.0)


def shade(x: float, scale: float) -> str:
    """The fill colour for x: sign picks red or blue, |x| / scale picks the shade."""
    if not math.isfinite(x):
        return NONFINITE_FILL
    if x == 0.0 or scale == 0.0:
        return NEUTRAL_FILL
    fraction = abs(x) / scale
    level = 0 if fraction >= THRESHOLDS[0] else 1 if fraction >= THRESHOLDS[1] else 2
    return (POSITIVE if x > 0 else NEGATIVE)[level]


def text_color(fill: str) -> str:
    """Black or white text, whichever reads on fill."""
    return LIGHT_TEXT if fill in _DARK else DARK_TEXT


def legend_rows(scale: float, precision: int, nonfinite: bool) -> list[tuple[str, str]]:
    """(colour, description) rows for the gradient legend, strongest negative first."""
    strong, medium = (fmt(t * scale, precision) for t in THRESHOLDS)
    rows = [
        (NEGATIVE[0], f"≤ −{strong}"),
        (NEGATIVE[1], f"−{strong} … −{medium}"),
        (NEGATIVE[2], f"−{medium} … 0"),
        (NEUTRAL_FILL, "0"),
        (POSITIVE[2], f"0 … {medium}"),
        (POSITIVE[1], f"{medium} … {strong}"),
        (POSITIVE[0], f"≥ {strong}"),
    ]
    if nonfinite:
        rows.append((NONFINITE_FILL, "nan / inf"))
    return rows


def fmt(x: float, precision: int = 4) -> str:
    """x with ``precision`` decimals; scientific notation when fixed would hide it or be huge."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0.0:
        return f"{0.0:.{precision}f}"  # also turns -0.0 into 0.0
    if abs(x) >= 1e6 or abs(x) < 0.5 * 10.0**-precision:
        return f"{x:.{precision}e}"
    return f"{x:.{precision}f}"


MAX_PRECISION = 17  # decimals: 17 significant digits already tell every float64 apart


def check_precision(precision) -> int:
    """precision if it is an int from 0 to MAX_PRECISION (not a bool); else ValueError."""
    if isinstance(precision, bool) or not isinstance(precision, int) or not (
        0 <= precision <= MAX_PRECISION
    ):
        raise ValueError(
            f"precision must be an int from 0 to {MAX_PRECISION} (decimals shown), "
            f"got {precision!r:.40}"
        )
    return precision


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _text(text) -> str:
    r"""str(text) as one line that encodes as UTF-8.

    Control characters become spaces; a lone surrogate (``'\ud800'``, which
    no UTF-8 file can hold) is shown as its escape ``\ud800``.
    """
    text = _CONTROL.sub(" ", str(text))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


_RECORD_SPECIAL = re.compile(r"([{}|<>])")


def plain_text(text) -> str:
    r"""text made safe as a quoted DOT string that Graphviz shows literally.

    Backslashes are doubled (so ``\n`` or ``\N`` in a user label stays text)
    and ``&`` becomes ``&amp;`` (Graphviz decodes entities such as ``&lt;`` in
    every label); the graphviz package then escapes the double quotes.
    Control characters (newlines, tabs) become spaces: a label is one line;
    a lone surrogate shows as its escape (``\ud800``).
    """
    return _text(text).replace("\\", "\\\\").replace("&", "&amp;")


def record_text(text) -> str:
    """text made safe as one field of a Graphviz record label (``{ } | < >`` escaped too).

    Graphviz splits a record field into words at spaces and joins them again
    with one space (after text outside ASCII, with none), and escaped spaces
    have quirks of their own at the ends of a field; so every space becomes a
    no-break space (U+00A0), which it keeps as it is and draws the same.
    """
    return _RECORD_SPECIAL.sub(r"\\\1", plain_text(text)).replace(" ", "\u00a0")


def html_text(text) -> str:
    """text made safe inside a Graphviz HTML-like label."""
    return (
        _text(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
    )
