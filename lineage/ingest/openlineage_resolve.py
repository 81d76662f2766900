"""Which version of a dataset a run read: the one current at the time the run first mentioned it.

An output is a version pinned to the run that wrote it (``run-<runId>``, or the dataset version
facet). An input without a version facet resolves to the latest version whose producing time
(``produced_at``: the earliest event of the producing run that listed it) is at or before the time
the reading run first mentioned the dataset, never to a version the reading run wrote itself.
When no such version is recorded, it resolves to the dataset's ``observed`` placeholder: the
dataset as readers saw it, version unknown. Every unpinned input gets that placeholder, linked or
not, so the set of nodes does not depend on which event arrived first.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lineage.model import NodeKind
from lineage.model.ids import node_id, parse_node_id
from lineage.storage.base import AuditFilter, GraphStore, NodeFilter

PLACEHOLDER = "observed"
#: Audit actions that never change a node's properties or visibility (they name no subjects).
_NO_NODE_CHANGES = frozenset({"land", "token.create", "token.revoke"})
#: Most foreign audit entries read to catch the cache up; beyond that it is emptied.
CATCH_UP_LIMIT = 512


def output_version(run_id: str) -> str:
    return f"run-{run_id}"


@functools.lru_cache(maxsize=65_536)
def dataset_id(namespace: str, name: str, version: str) -> str:
    return node_id(NodeKind.DATASET, namespace, name, version)


@functools.lru_cache(maxsize=65_536)
def dataset_key(nid: str) -> tuple[str, str, str] | None:
    """(namespace, name, version) of a dataset version's id; None for any other id."""
    key = parse_node_id(nid)
    if key.kind is not NodeKind.DATASET or key.version is None:
        return None
    return key.namespace, key.name, key.version


@dataclass(slots=True)
class _Version:
    version: str
    props: dict[str, Any]

    def produced(self) -> tuple[str, str] | None:
        """(produced_at, version) for ordering, or None for versions no run is known to produce."""
        at = self.props.get("produced_at")
        if self.props.get("placeholder") or not isinstance(at, str):
            return None
        return at, self.version

    def produced_by(self, run: str) -> bool:
        return run in (self.props.get("produced_by") or [])


class DatasetVersions:
    """The visible versions of one dataset, with this event's pending changes layered on top.

    Produced versions are also kept ordered by (produced_at, version), so resolving a time is a
    binary search, not a scan of the dataset's history.
    """

    def __init__(self, store: GraphStore, namespace: str, name: str, counter: list[int] | None = None) -> None:
        self.namespace = namespace
        self.name = name
        self._versions: dict[str, _Version] = {}
        self._order: list[tuple[str, str]] = []  # (produced_at, version), sorted
        self._counter = counter if counter is not None else [0]
        after: str | None = None
        filt = NodeFilter(kinds=(NodeKind.DATASET,), namespace=namespace, name_prefix=name)
        while True:
            page = store.list_nodes(filt, after=after, limit=500)
            for rec in page:
                if rec.name == name and rec.version is not None:
                    self._versions[rec.version] = _Version(rec.version, dict(rec.properties))
            if len(page) < 500:
                break
            after = page[-1].id
        self._order = sorted(k for v in self._versions.values() if (k := v.produced()) is not None)
        self._counter[0] += len(self._versions)

    def __len__(self) -> int:
        return len(self._versions)

    def id(self, version: str) -> str:
        return dataset_id(self.namespace, self.name, version)

    def props(self, version: str) -> dict[str, Any] | None:
        found = self._versions.get(version)
        return found.props if found else None

    def with_property(self, key: str, value: Any) -> str | None:
        """The first version (in version order) whose property ``key`` is ``value``, if any."""
        return next((v for v in sorted(self._versions) if self._versions[v].props.get(key) == value), None)

    def put(self, version: str, props: dict[str, Any]) -> None:
        old = self._versions.get(version)
        if old is None:
            self._counter[0] += 1
        else:
            self._unorder(old)
        new = self._versions[version] = _Version(version, props)
        key = new.produced()
        if key is not None:
            bisect.insort(self._order, key)

    def drop(self, version: str) -> None:
        old = self._versions.pop(version, None)
        if old is not None:
            self._unorder(old)

    def _unorder(self, old: _Version) -> None:
        key = old.produced()
        if key is not None:
            i = bisect.bisect_left(self._order, key)
            if i < len(self._order) and self._order[i] == key:
                del self._order[i]

    def _latest_before(self, bound: tuple[str, ...], reader: str | None) -> str:
        """The greatest produced version ordered below ``bound`` not written by ``reader``."""
        i = bisect.bisect_right(self._order, bound)
        while i > 0:
            i -= 1
            version = self._order[i][1]
            if reader is None or not self._versions[version].produced_by(reader):
                return version
        return PLACEHOLDER

    def resolve(self, at: str, reader: str) -> str:
        """The version current at ``at`` for ``reader`` (a run id), or the placeholder."""
        return self._latest_before((at, "\U0010ffff"), reader)

    def predecessor(self, version: str) -> str:
        """The version readers saw just before ``version`` was produced (placeholder when none)."""
        own = self._versions.get(version)
        mark = own.produced() if own else None
        if mark is None:
            return PLACEHOLDER
        i = bisect.bisect_left(self._order, mark)
        return self._order[i - 1][1] if i > 0 else PLACEHOLDER


class VersionCache:
    """Dataset versions kept between events by one ingester, valid while it knows every write.

    Every write to a store appends exactly one audit entry, so the audit head names the state of
    the graph: the cache is trusted as is when the head is the one it recorded after its own last
    write. When others wrote since (another server process on the same file), it reads their audit
    entries, which name every node they touched, and forgets only the datasets named there; it is
    emptied when that cannot be done exactly (too many entries, a chain that does not continue from
    its head, an entry naming no nodes) or when a write fails. It is also emptied when it holds
    more than ``max_versions`` versions, which bounds its memory.

    It also keeps the properties of runs read as readers of a dataset (a new version re-checks
    every reader of the one before it), under the same rules; the mapper forgets the nodes each
    event writes (:meth:`forget`). At most ``max_runs`` are kept, the oldest dropped first.
    """

    def __init__(self, max_versions: int = 100_000, max_runs: int = 20_000) -> None:
        self.max_versions = max_versions
        self.max_runs = max_runs
        self._head: tuple[int, str] | None = None
        self._datasets: dict[tuple[str, str], DatasetVersions] = {}
        self._size = [0]  # versions held, counted by the DatasetVersions themselves
        self._runs: dict[str, dict[str, Any]] = {}  # visible runs' properties, oldest first

    def begin(self, head: tuple[int, str], store: GraphStore | None = None) -> None:
        """Start a write transaction whose audit head is ``head`` (``store``: read inside it, to
        catch up with others' writes)."""
        current = head == self._head or (store is not None and self._catch_up(store, head))
        if not current or self._size[0] > self.max_versions:
            self.invalidate()
        self._head = None  # untrusted until this transaction records its own head

    def end(self, head: tuple[int, str]) -> None:
        """The transaction is about to commit with audit head ``head``."""
        self._head = head

    def invalidate(self) -> None:
        self._head = None
        self._datasets.clear()
        self._size = [0]
        self._runs.clear()

    def run(self, nid: str) -> dict[str, Any] | None:
        """A copy of the kept properties of a visible run (None: not kept, read it)."""
        found = self._runs.get(nid)
        return dict(found) if found is not None else None

    def keep_run(self, nid: str, props: dict[str, Any]) -> None:
        """Keep the properties of a visible run as read in the current transaction."""
        if nid not in self._runs and len(self._runs) >= self.max_runs:
            del self._runs[next(iter(self._runs))]
        self._runs[nid] = dict(props)

    def forget(self, ids: Iterable[str]) -> None:
        """Nodes written (or retracted) in the current transaction: read them again when needed."""
        for nid in ids:
            self._runs.pop(nid, None)

    def _catch_up(self, store: GraphStore, head: tuple[int, str]) -> bool:
        """Forget the datasets written since the recorded head; False when that is not exact."""
        ours = self._head
        if ours is None or not 0 < head[0] - ours[0] <= CATCH_UP_LIMIT:
            return False
        missed = head[0] - ours[0]
        entries = store.audit_entries(AuditFilter(after_seq=ours[0], limit=missed))
        if len(entries) != missed or entries[0].prev_hash != ours[1] or entries[-1].hash != head[1]:
            return False
        changed: dict[str, tuple[DatasetVersions, str]] = {}
        for entry in entries:
            if entry.action in _NO_NODE_CHANGES:
                continue
            if not entry.subjects:
                return False
            for subject in entry.subjects:
                try:
                    key = parse_node_id(subject)
                except ValueError:
                    return False
                if key.kind is NodeKind.RUN:
                    self._runs.pop(subject, None)
                held = self._datasets.get((key.namespace, key.name)) if key.kind is NodeKind.DATASET else None
                if held is not None and key.version is not None:
                    changed[subject] = (held, key.version)
        # Re-read just the versions named (one query): changed properties, new or retracted versions.
        found = store.get_nodes(sorted(changed)) if changed else {}
        for nid, (held, version) in changed.items():
            record = found.get(nid)
            if record is None:
                held.drop(version)
            else:
                held.put(version, dict(record.properties))
        return True

    def get(self, store: GraphStore, namespace: str, name: str) -> DatasetVersions:
        key = (namespace, name)
        found = self._datasets.get(key)
        if found is None:
            found = self._datasets[key] = DatasetVersions(store, namespace, name, self._size)
        return found
