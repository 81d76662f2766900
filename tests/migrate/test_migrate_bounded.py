"""`lineage migrate` writes the audit log in bounded transactions and never splits an entry.

One registration of a large batch is one audit entry holding every element (its subjects) and the
whole batch (its payload); a log of such entries cannot go into the target in one transaction.
The bounds are forced small here, so a few hundred elements exercise what a million-node store
does at the default bounds: the copy verifies, the chain ends at the same head on the target, and
a copy stopped part-way leaves whole entries whose chain verifies, which the next copy refuses.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from lineage.audit import AuditEntry
from lineage.errors import ConflictError
from lineage.model import parse_batch
from lineage.storage import AuditFilter, GraphStore, open_store
from lineage.storage.base import Section
from lineage.storage.migrate import bounded_audit, copy_store, verify_copy

MAX_ELEMENTS = 40
MAX_BYTES = 6_000


def ds(name: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "Dataset", "namespace": "wh", "name": name, "version": "1", **extra}


def big_batch(prefix: str, n: int) -> dict[str, Any]:
    nodes = [ds(f"{prefix}{i}", properties={"note": "x" * 40}) for i in range(n)]
    edges = [
        {"from": f"dataset:wh/{prefix}{i}@1", "type": "FEEDS", "to": f"dataset:wh/{prefix}{i + 1}@1"}
        for i in range(n - 1)
    ]
    return {"nodes": nodes, "edges": edges}


@pytest.fixture
def source(tmp_path: Path) -> Iterator[GraphStore]:
    """Small entries around two entries far beyond both bounds (about 300 elements, 30 kB each)."""
    st = open_store(f"sqlite:///{tmp_path / 'source.db'}")
    for i in range(12):
        st.register(parse_batch({"nodes": [ds(f"small{i}")]}), principal="alice")
    st.register(parse_batch(big_batch("big", 150)), principal="ci")
    for i in range(5):
        st.annotate(f"dataset:wh/small{i}@1", "tag", add=["pii"], principal="carol")
    st.register(parse_batch(big_batch("huge", 160)), principal="ci")
    st.register(parse_batch({"nodes": [ds("last")]}), principal="alice")
    try:
        yield st
    finally:
        st.close()


def _size(entry: AuditEntry) -> tuple[int, int]:
    return 1 + len(entry.subjects), len(entry.payload_text().encode()) + sum(len(s.encode()) for s in entry.subjects)


def record_imports(target: GraphStore, monkeypatch: pytest.MonkeyPatch, fail_after: int | None = None) -> list[Any]:
    """Watch the audit transactions the copy writes; optionally stop the copy after some of them."""
    groups: list[list[AuditEntry]] = []
    real = target.import_section

    def spy(section: Section, records: Sequence[Any]) -> None:
        if section is Section.AUDIT:
            if fail_after is not None and len(groups) == fail_after:
                raise KeyboardInterrupt  # the operator stops the copy
            groups.append(list(records))
        real(section, records)

    monkeypatch.setattr(target, "import_section", spy)
    return groups


def test_bounded_groups_keep_order_and_bounds(source: GraphStore) -> None:
    pages = source.export_section(Section.AUDIT, 3)
    groups = list(bounded_audit(pages, MAX_ELEMENTS, MAX_BYTES))
    entries = [e for g in groups for e in g]
    assert entries == source.audit_entries(AuditFilter(limit=1_000))
    for group in groups:
        elements, size = map(sum, zip(*map(_size, group), strict=True))
        assert len(group) == 1 or (elements <= MAX_ELEMENTS and size <= MAX_BYTES), [e.seq for e in group]
    big = [g for g in groups if _size(g[0])[0] > MAX_ELEMENTS]
    assert len(big) == 2 and all(len(g) == 1 for g in big)


def test_audit_copied_in_bounded_transactions(
    source: GraphStore, store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    groups = record_imports(store, monkeypatch)
    report = copy_store(source, store, batch_size=MAX_ELEMENTS, max_tx_bytes=MAX_BYTES)
    assert report.copied["audit"] == source.counts()["audit_entries"] == sum(map(len, groups))
    assert len(groups) > 3
    for group in groups:
        elements, size = map(sum, zip(*map(_size, group), strict=True))
        assert len(group) == 1 or (elements <= MAX_ELEMENTS and size <= MAX_BYTES)
    head = source.verify_audit().head
    check = store.verify_store(expect_head=head)
    assert check.ok, check.problem
    assert store.verify_audit().head == head
    copied = verify_copy(source, store)
    assert copied.ok, copied.problems
    # every subject of the big entries is found through the target's subject index
    for entry in source.audit_entries(AuditFilter(principal="ci")):
        for subject in entry.subjects[:: max(1, len(entry.subjects) // 20)]:
            assert entry.seq in [e.seq for e in store.audit_entries(AuditFilter(subject=subject))]


def test_stopped_copy_leaves_whole_entries(
    source: GraphStore, store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    groups = record_imports(store, monkeypatch, fail_after=3)
    with pytest.raises(KeyboardInterrupt):
        copy_store(source, store, batch_size=MAX_ELEMENTS, max_tx_bytes=MAX_BYTES)
    written = [e for g in groups for e in g]
    copied = store.audit_entries(AuditFilter(limit=1_000))
    assert copied == written == source.audit_entries(AuditFilter(limit=len(written)))
    chain = store.verify_audit()
    assert chain.ok and chain.head == written[-1].hash
    for entry in copied:  # whole: every subject of every copied entry leads back to it
        for subject in entry.subjects:
            assert entry.seq in [e.seq for e in store.audit_entries(AuditFilter(subject=subject, limit=1_000))]
    assert not store.verify_store().ok  # rows written by the entries not copied are not traced
    monkeypatch.undo()
    with pytest.raises(ConflictError):
        copy_store(source, store)


def test_cli_takes_the_transaction_bound(source: GraphStore, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from lineage.cli import build_app

    target = f"sqlite:///{tmp_path / 'copy.db'}"
    args = ["migrate", "--from", source.url, "--to", target, "--batch-size", "40", "--max-tx-mib", "1"]
    result = CliRunner().invoke(build_app(), [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"ok": true' in result.stdout
    bad = CliRunner().invoke(build_app(), [*args[:-1], "0"])
    assert bad.exit_code == 2


@pytest.mark.neo4j
@pytest.mark.parametrize("backend", ["neo4j"])
def test_neo4j_reads_the_log_in_pages_bounded_by_bytes(
    source: GraphStore, store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_store(source, store, batch_size=MAX_ELEMENTS, max_tx_bytes=MAX_BYTES)
    expected = source.audit_entries(AuditFilter(limit=1_000))
    pages: list[int] = []
    real = store._read  # type: ignore[attr-defined]

    def count(query: str, **params: Any) -> Any:
        rows = real(query, **params)
        if "$last" in query:
            pages.append(len(rows))
        return rows

    monkeypatch.setattr(store, "_read", count)
    assert list(store.iter_audit(page_bytes=MAX_BYTES)) == expected  # type: ignore[call-arg]
    assert len(pages) > 3 and sum(pages) == len(expected)
    assert 1 in pages  # the big entries come alone
    pages.clear()
    assert list(store.iter_audit()) == expected
    assert pages == [len(expected)]
