"""The package version (bottom layer: the root package and every module that records it import it here)."""

__version__ = "0.1.0"
