"""Dataset loaders, preprocessing, the preprocessing cache and the synthetic corpus."""

from cmaf.data.records import ClipRecord, DataError, Problem, ScanResult

__all__ = ["ClipRecord", "DataError", "Problem", "ScanResult"]
