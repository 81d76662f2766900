"""Lineage and governance engine for ML platforms."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from lineage.client import Client

__all__ = ["Client", "__version__"]


def __getattr__(name: str) -> Any:
    """``lineage.Client`` is imported on first use, so ``import lineage.x`` stays light."""
    if name == "Client":
        from lineage.client import Client

        return Client
    raise AttributeError(f"module 'lineage' has no attribute {name!r}")
