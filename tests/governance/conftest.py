"""Fixtures for governance tests."""

from __future__ import annotations

import pytest
from gov_graphs import small_batch

from lineage.storage import GraphStore


@pytest.fixture
def small(store: GraphStore) -> GraphStore:
    store.register(small_batch(), principal="tester")
    return store
