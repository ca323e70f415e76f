"""Plot helpers of the book: every function returns a :class:`matplotlib.figure.Figure`.

Figures are built without :mod:`matplotlib.pyplot` (no global state, works under the Agg
backend and in notebooks alike). Diagrams and data views live in :mod:`cmaf.plots.analysis`,
result figures in :mod:`cmaf.plots.results`; both are re-exported here.
"""

from cmaf.plots import analysis, results
from cmaf.plots.analysis import *  # noqa: F403
from cmaf.plots.results import *  # noqa: F403

__all__ = [*analysis.__all__, *results.__all__]
