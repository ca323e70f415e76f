"""Experiments: plans of many runs and what is measured across them.

``protocols`` trains one model under the random split and held-out folds; ``compare`` runs CMAF
against its baselines and ablations; ``robustness`` sweeps trained runs with test-time
corruptions; ``speech`` is the real-speech study of the book's chapter 10. This layer sits above
``cmaf.training`` and below ``cmaf.plots`` and the book.
"""
