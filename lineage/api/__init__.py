"""The HTTP interface: a FastAPI app serving GraphQL (Strawberry), health and metrics endpoints."""

from __future__ import annotations

from lineage.api.app import create_app

__all__ = ["create_app"]
