"""The look shared by viz's pictures: fonts, the diverging palette, numbers, escaping.

One place decides how a gradient becomes a colour, how a number is printed and
how a user's text is made safe for Graphviz, so the computation graph, the
network diagram and the stepper agree with each other.

Colours come from ColorBrewer's RdBu diverging scheme (colour-blind safe):
blue for positive, red for negative, darker for larger magnitude, white-ish
for zero. Gradients are shaded on a ``Scale``: five shades a sign on a
logarithmic ladder of steps 1, 3, 10, 30, ... (each step about x3), whose top
step is the largest of the magnitudes that matter (the caller leaves out the
root, whose gradient is 1 by definition, and constants), outliers beyond 10
times their upper quartile left out too; so neither the root, nor a
constant, nor one outlier sets the scale: everything at or above the top
step gets the darkest shade and the legend says so (``≥ 0.1``).
In the 2-2-1 worked example the parameter gradients 0.0007 ... 0.054 span
three of the five shades. The two darkest shades carry white text so every
label stays readable. Negative numbers are written with the minus sign
U+2212 (``−0.6884``), in the boxes as in the legend.
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

# RdBu: strongest negative ... strongest positive (plots and the player use these three).
NEGATIVE = ("#b2182b", "#ef8a62", "#fddbc7")  # strong, medium, weak
POSITIVE = ("#2166ac", "#67a9cf", "#d1e5f0")
# RdBu's 11 classes: the five shades a sign that gradients get, weakest first.
GRAD_NEGATIVE = ("#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f")
GRAD_POSITIVE = ("#d1e5f0", "#92c5de", "#4393c3", "#2166ac", "#053061")
LEVELS = len(GRAD_POSITIVE)
_DARK = {NEGATIVE[0], POSITIVE[0], *GRAD_NEGATIVE[3:], *GRAD_POSITIVE[3:]}
MINUS = "\u2212"
TOP_QUANTILE = 0.75  # magnitudes beyond OUTLIER times their upper quartile are outliers:
OUTLIER = 10.0  # they get the darkest shade but do not set the scale


def _ladder(k: int) -> float:
    """Step k of the ladder ..., 0.1, 0.3, 1, 3, 10, 30, ...: 1 at k = 0, 3 at k = 1."""
    return float(f"{3 if k % 2 else 1}e{k // 2}")  # exactly 0.3, not 0.30000000000000004


def _ladder_index(x: float) -> int:
    """The k of the largest ladder step at most x > 0."""
    k = 2 * math.floor(math.log10(x)) + 1
    while _ladder(k) > x * (1 + 1e-12):  # log10 may round across a power of ten
        k -= 1
    while _ladder(k + 1) <= x * (1 + 1e-12):
        k += 1
    return k


def _quantile(sorted_numbers: list[float], q: float) -> float:
    position = q * (len(sorted_numbers) - 1)
    low = math.floor(position)
    high = min(low + 1, len(sorted_numbers) - 1)
    return sorted_numbers[low] + (sorted_numbers[high] - sorted_numbers[low]) * (position - low)


class Scale:
    """How a gradient becomes a shade: ``LEVELS`` bins a sign, bounded by ``bounds``.

    ``bounds`` are the ladder's steps, smallest first (``[0.001, 0.003, 0.01,
    0.03]``): below the first the palest shade, at or above the last the
    darkest. ``Scale.of(numbers)`` takes the top step from the upper quartile
    of the non-zero finite magnitudes (those are the ones the caller says
    matter: not the root, not constants); with none, the scale is empty and
    every fill neutral.
    """

    __slots__ = ("bounds",)

    def __init__(self, top: int | None):
        """The scale whose darkest shade starts at ladder step ``top`` (None: no scale)."""
        self.bounds = () if top is None else tuple(
            _ladder(k) for k in range(top - LEVELS + 2, top + 1))

    @classmethod
    def of(cls, numbers) -> Scale:
        magnitudes = sorted(abs(x) for x in numbers if math.isfinite(x) and x != 0.0)
        if not magnitudes:
            return cls(None)
        reach = OUTLIER * _quantile(magnitudes, TOP_QUANTILE)
        return cls(_ladder_index(max(m for m in magnitudes if m <= reach)))

    def __bool__(self) -> bool:
        return bool(self.bounds)

    def level(self, x: float) -> int:
        """0 (palest) to LEVELS - 1 (darkest) for a non-zero finite x."""
        magnitude = abs(x)
        return sum(1 for bound in self.bounds if magnitude >= bound * (1 - 1e-12))

    def shade(self, x: float) -> str:
        """The fill colour for x: sign picks red or blue, the ladder step of |x| the shade."""
        if not math.isfinite(x):
            return NONFINITE_FILL
        if x == 0.0 or not self.bounds:
            return NEUTRAL_FILL
        return (GRAD_POSITIVE if x > 0 else GRAD_NEGATIVE)[self.level(x)]

    def legend_rows(self, numbers, nonfinite: bool = False) -> list[tuple[str, str]]:
        """(colour, description) rows for the shades of numbers' signs, strongest negative first.

        Every shade of a sign that occurs is listed (so the ladder reads whole),
        ``0`` when some number is zero, ``nan / inf`` when one is not finite.
        """
        numbers = list(numbers)
        signs = {x > 0 for x in numbers if math.isfinite(x) and x != 0.0}
        texts = [_bound(b) for b in self.bounds]
        ranges = [f"0 … {texts[0]}"]
        ranges += [f"{low} … {high}" for low, high in zip(texts, texts[1:], strict=False)]
        ranges.append(f"≥ {texts[-1]}")
        rows = []
        if False in signs and self.bounds:
            negative = [_negate_range(r) for r in ranges]
            rows += list(zip(reversed(GRAD_NEGATIVE), reversed(negative), strict=True))
        if any(x == 0.0 for x in numbers) or not self.bounds:
            rows.append((NEUTRAL_FILL, "0"))
        if True in signs and self.bounds:
            rows += list(zip(GRAD_POSITIVE, ranges, strict=True))
        if nonfinite:
            rows.append((NONFINITE_FILL, "nan / inf"))
        return rows


def _bound(x: float) -> str:
    """A ladder step as short text: ``0.003``, ``30``, ``3e-07``."""
    if 1e-4 <= x < 1e6:
        return f"{x:.{max(0, -math.floor(math.log10(x) + 1e-9))}f}"
    return f"{x:.0e}".replace("e-0", "e-").replace("e+0", "e+")


def _negate_range(text: str) -> str:
    """A positive range as its negative: ``0.01 … 0.03`` -> ``−0.03 … −0.01``,
    ``0 … 0.001`` -> ``−0.001 … 0``, ``≥ 30`` -> ``≤ −30``."""
    if text.startswith("0 … "):
        return f"{MINUS}{text[4:]} … 0"
    if text.startswith("≥ "):
        return f"≤ {MINUS}{text[2:]}"
    low, high = text.split(" … ")
    return f"{MINUS}{high} … {MINUS}{low}"


def scale_of(numbers) -> float:
    """The largest finite magnitude among numbers (0.0 when there is none)."""
    return max((abs(x) for x in numbers if math.isfinite(x)), default=0.0)


def shade(x: float, scale: float) -> str:
    """A fill for x relative to the largest magnitude ``scale`` (network diagrams' biases)."""
    if not math.isfinite(x):
        return NONFINITE_FILL
    if x == 0.0 or scale == 0.0:
        return NEUTRAL_FILL
    fraction = abs(x) / scale
    level = 0 if fraction >= THRESHOLDS[0] else 1 if fraction >= THRESHOLDS[1] else 2
    return (POSITIVE if x > 0 else NEGATIVE)[level]


THRESHOLDS = (0.5, 0.1)  # shade(): fraction of the largest magnitude for "strong", "medium"


def text_color(fill: str) -> str:
    """Black or white text, whichever reads on fill."""
    return LIGHT_TEXT if fill in _DARK else DARK_TEXT


def fmt(x: float, precision: int = 4) -> str:
    """x with ``precision`` decimals (``−`` U+2212 for negatives); scientific notation when
    fixed would hide it or be huge."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else f"{MINUS}inf"
    if x == 0.0:
        return f"{0.0:.{precision}f}"  # also turns -0.0 into 0.0
    if abs(x) >= 1e6 or abs(x) < 0.5 * 10.0**-precision:
        text = f"{x:.{precision}e}"
    else:
        text = f"{x:.{precision}f}"
    return text.replace("-", MINUS, 1) if text[0] == "-" else text


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
