"""Lineage and governance engine for ML platforms."""

__version__ = "0.1.0"
