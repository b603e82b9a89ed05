"""The charts' colours, shared by charts.py (which draws with them) and the page's dark
mode (templates/css/screen.css recolours the inline SVG by these values). No matplotlib
here, so the page's templates can use it without loading it.

Text never uses a data colour as it is: the Okabe-Ito orange reads at 2.25:1 on white.
A label in a series' colour gets a shade of it that reads at 4.5:1 or better on white,
and dark mode swaps that shade for one that reads at 4.5:1 or better on the dark page.
The shades are used for text only, so recolouring them by fill never touches a line,
a bar or a point.
"""

from __future__ import annotations

# Okabe-Ito: distinguishable with the common forms of colour blindness.
BLUE, ORANGE, GREEN, PINK = "#0072B2", "#E69F00", "#009E73", "#CC79A7"
SKY, VERMILLION = "#56B4E9", "#D55E00"
GREY = "#8c959f"
# Ink, secondary text, grid: dark mode recolours exactly these, so data never uses them.
INK, MUTED, GRID = "#1f2328", "#59636e", "#dde1e6"
PAPER = "#ffffff"

# series colour -> (text on the light page, text on the dark page)
TEXT_SHADES: dict[str, tuple[str, str]] = {
    BLUE: ("#0068a3", "#56b4e9"),
    ORANGE: ("#8f6300", "#e69f00"),
    GREEN: ("#007a59", "#009e73"),
    PINK: ("#b04a84", "#cc79a7"),
    SKY: ("#1a73a8", "#56b4e9"),
    VERMILLION: ("#b34f00", "#d55e00"),
    GREY: ("#66707b", "#8c959f"),
}
_LIGHT = {k.lower(): light for k, (light, _) in TEXT_SHADES.items()}


def text_colour(colour: str) -> str:
    """The colour to draw text in, for a label in ``colour`` (hex); others unchanged."""
    return _LIGHT.get(colour.lower(), colour)


def dark_fills() -> dict[str, str]:
    """Dark mode: each fill the charts' text is drawn in -> the colour it shows instead."""
    fills = {INK: "var(--ink)", MUTED: "var(--muted)"}
    fills.update({light: dark for light, dark in TEXT_SHADES.values()})
    return {k.lower(): v for k, v in fills.items()}


def dark_strokes() -> dict[str, str]:
    """Dark mode: each stroke of the charts' rules, grid and point outlines -> its colour."""
    return {MUTED.lower(): "var(--muted)", GRID: "var(--rule)", PAPER: "var(--paper)"}


__all__ = [
    "BLUE",
    "GREEN",
    "GREY",
    "GRID",
    "INK",
    "MUTED",
    "ORANGE",
    "PAPER",
    "PINK",
    "SKY",
    "TEXT_SHADES",
    "VERMILLION",
    "dark_fills",
    "dark_strokes",
    "text_colour",
]
