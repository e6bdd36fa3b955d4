"""Figures of the book, one module per chapter, built from result tables (no computation
here); :mod:`~reportlib.site.figures.common` turns a figure into the page's PNG."""

import matplotlib.pyplot as plt

# text sizes a reader reads at the phone's scale (a 6.5-inch figure is shown at about 55% in
# a 412-px phone's column): nothing below 11 points (common.figure_png refuses smaller text
# and wider figures)
plt.rcParams.update(
    {
        "svg.hashsalt": "reportlib",
        "figure.dpi": 100,
        "font.size": 11,
        "axes.titlesize": 12,
        "axes.labelsize": 11,
        "xtick.labelsize": 11,
        "ytick.labelsize": 11,
        "legend.fontsize": 11,
        "legend.title_fontsize": 11.5,
        "figure.titlesize": 12.5,
    }
)
