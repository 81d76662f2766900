"""The SQLite durability setting: FULL by default, NORMAL on request, anything else refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from lineage.errors import ValidationError
from lineage.model import parse_batch
from lineage.settings import load_settings, store_options
from lineage.storage import open_store
from lineage.storage.sqlite import SQLiteStore

BATCH = {"nodes": [{"kind": "Dataset", "namespace": "raw", "name": "orders", "version": "v1"}]}


def synchronous_of(store: SQLiteStore) -> int:
    value: int = store._conn().execute("PRAGMA synchronous").fetchone()[0]
    return value


@pytest.mark.parametrize(("setting", "pragma"), [(None, 2), ("full", 2), ("normal", 1), ("NORMAL", 1)])
def test_commits_use_the_chosen_durability(tmp_path: Path, setting: str | None, pragma: int) -> None:
    options = {} if setting is None else {"synchronous": setting}
    store = open_store(f"sqlite:///{tmp_path / 'd.db'}", **options)
    assert isinstance(store, SQLiteStore)
    try:
        assert synchronous_of(store) == pragma
        result = store.register(parse_batch(BATCH), principal="user:test", source="test")
        assert result.changed
        assert store.verify_store().ok
    finally:
        store.close()


def test_an_unknown_durability_is_refused_before_anything_is_created(tmp_path: Path) -> None:
    path = tmp_path / "d.db"
    with pytest.raises(ValidationError, match="synchronous 'off'") as caught:
        open_store(f"sqlite:///{path}", synchronous="off")
    assert caught.value.details == {"element": "synchronous", "rule": "choice"}
    assert not path.exists()


def test_the_setting_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert store_options(load_settings(store="sqlite:///x.db")) == {"synchronous": "full"}
    monkeypatch.setenv("LINEAGE_SQLITE_SYNCHRONOUS", "normal")
    assert store_options(load_settings(store="sqlite:///x.db")) == {"synchronous": "normal"}
    assert "synchronous" not in store_options(load_settings(store="bolt://localhost:7687"))
