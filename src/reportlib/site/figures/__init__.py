"""Figures of the book, one module per chapter, built from result tables (no computation
here); :mod:`~reportlib.site.figures.common` turns a figure into the page's PNG."""

import matplotlib.pyplot as plt

plt.rcParams.update({"svg.hashsalt": "reportlib", "figure.dpi": 100})
