"""The columns of a traversal's result: one row per reached node, held as numpy arrays.

A 10k-node closure is answered in a few milliseconds by the traversal index; turning every reached
node into Python objects (a tuple, a dict entry, its id string, a path list) would cost ten times
that. So a :class:`ReachTable` keeps the walk's arrays (node numbers, distance, the position of the
parent row, edge type, kind) and builds a row's objects only when the row is read. Rows are in
(distance, id) order; a row's parent comes before it, so an explaining path is a chain of positions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, overload

import numpy as np

from lineage.model import NodeKind
from lineage.storage.index import I64, KIND_CODE, KINDS, TYPE_CODE, TYPES

if TYPE_CHECKING:
    from lineage.storage.base import Reached
    from lineage.storage.index import TraversalIndex, Walk


class Names(Protocol):
    """Node numbers to ids and back."""

    def ids(self, nums: I64) -> list[str]: ...

    def number(self, node: str) -> int | None: ...


class ListNames:
    """Numbers of the nodes of a walk over the store: positions in a list of ids."""

    __slots__ = ("_ids", "_num")

    def __init__(self, ids: list[str]) -> None:
        self._ids = ids
        self._num = {node: i for i, node in enumerate(ids)}

    def ids(self, nums: I64) -> list[str]:
        ids = self._ids
        return [ids[i] for i in nums.tolist()]

    def number(self, node: str) -> int | None:
        return self._num.get(node)


def _empty() -> I64:
    return np.zeros(0, dtype=np.int64)


@dataclass(slots=True)
class ReachTable:
    """Every reached node of one traversal, in (distance, id) order, as columns."""

    names: Names
    start: str
    nums: I64 = field(default_factory=_empty)
    dist: I64 = field(default_factory=_empty)
    parent: I64 = field(default_factory=_empty)  # row of the node one step nearer the start; -1: the start
    etype: I64 = field(default_factory=_empty)  # code in TYPES of the edge from the parent
    kind: I64 = field(default_factory=_empty)  # code in KINDS
    sel: I64 | None = None  # rows of the wanted kinds (None: every row)
    _ids: list[str] | None = None
    _sorted: I64 | None = None

    @classmethod
    def from_walk(
        cls, index: TraversalIndex, walked: Walk, start: str, kinds: Sequence[NodeKind] = ()
    ) -> ReachTable:
        levels = walked.levels
        table = cls(index, start)
        if not levels:
            return table
        sizes = [lv.nodes.size for lv in levels]
        table.nums = np.concatenate([lv.nodes for lv in levels])
        table.dist = np.repeat(np.arange(1, len(levels) + 1, dtype=np.int64), sizes)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        parents = [np.full(sizes[0], -1, dtype=np.int64)]
        parents += [lv.origins + offsets[d - 1] for d, lv in enumerate(levels[1:], start=1)]
        table.parent = np.concatenate(parents)
        table.etype = np.concatenate([lv.types for lv in levels])
        table.kind = index.kinds_of(table.nums).astype(np.int64)
        table.select(kinds)
        return table

    @classmethod
    def from_rows(cls, start: str, rows: Sequence[Reached], kinds: Sequence[NodeKind] = ()) -> ReachTable:
        """From hops of a walk over the store, each node's parent reached before it."""
        ordered = sorted(rows, key=lambda r: (r.distance, r.id))
        ids = [r.id for r in ordered]
        names = ListNames(ids)
        table = cls(names, start, _ids=ids)
        if not ordered:
            return table
        table.nums = np.arange(len(ids), dtype=np.int64)
        table.dist = np.array([r.distance for r in ordered], dtype=np.int64)
        table.parent = np.array([-1 if r.via == start else names.number(r.via) for r in ordered], dtype=np.int64)
        table.etype = np.array([TYPE_CODE[r.edge_type.value] for r in ordered], dtype=np.int64)
        table.kind = np.array([KIND_CODE[r.kind.value] for r in ordered], dtype=np.int64)
        table.select(kinds)
        return table

    def select(self, kinds: Sequence[NodeKind]) -> None:
        codes = sorted({KIND_CODE[NodeKind(k).value] for k in kinds})
        if codes and len(codes) < len(KINDS):
            self.sel = np.flatnonzero(np.isin(self.kind, codes)).astype(np.int64)

    def __len__(self) -> int:
        return int(self.nums.size)

    def rows(self) -> I64:
        """Rows of the wanted kinds, in order."""
        return np.arange(self.nums.size, dtype=np.int64) if self.sel is None else self.sel

    def id_list(self) -> list[str]:
        """The id of every row (built once)."""
        if self._ids is None:
            self._ids = self.names.ids(self.nums)
        return self._ids

    def ids_of(self, rows: I64) -> list[str]:
        if self._ids is not None:
            ids = self._ids
            return [ids[i] for i in rows.tolist()]
        return self.names.ids(self.nums[rows])

    def id_of(self, row: int) -> str:
        return self._ids[row] if self._ids is not None else self.names.ids(self.nums[row : row + 1])[0]

    def position(self, node: str) -> int | None:
        """The row of a reached node; None when it was not reached."""
        num = self.names.number(node)
        if num is None or not self.nums.size:
            return None
        if self._sorted is None:
            self._sorted = np.argsort(self.nums, kind="stable").astype(np.int64)
        return _search(self.nums, self._sorted, num)

    def chain(self, row: int) -> list[int]:
        """Rows from the start's first hop to ``row``."""
        out: list[int] = []
        parent = self.parent.item  # a Python int per step, without a numpy scalar
        while row >= 0:
            out.append(row)
            row = parent(row)
        out.reverse()
        return out

    def hop(self, row: int) -> Reached:
        from lineage.storage.base import Reached

        parent = int(self.parent[row])
        return Reached(
            self.id_of(row),
            KINDS[int(self.kind[row])],
            int(self.dist[row]),
            self.start if parent < 0 else self.id_of(parent),
            TYPES[int(self.etype[row])],
        )

    def hops(self, rows: I64) -> list[Reached]:
        from lineage.storage.base import Reached

        ids = self.id_list()
        start = self.start
        parent = self.parent[rows].tolist()
        return [
            Reached(ids[r], KINDS[k], d, start if p < 0 else ids[p], TYPES[t])
            for r, k, d, p, t in zip(
                rows.tolist(), self.kind[rows].tolist(), self.dist[rows].tolist(), parent,
                self.etype[rows].tolist(), strict=True,
            )
        ]  # fmt: skip


def _search(nums: I64, order: I64, num: int) -> int | None:
    at = int(np.searchsorted(nums, num, sorter=order))
    if at < order.size and int(nums[order[at]]) == num:
        return int(order[at])
    return None


class ReachedView(Sequence["Reached"]):
    """The reached nodes of a :class:`ReachTable` as a sequence of :class:`Reached`, built when read."""

    __slots__ = ("_all", "_rows", "_table")

    def __init__(self, table: ReachTable) -> None:
        self._table = table
        self._rows = table.rows()
        self._all: list[Reached] | None = None

    def __len__(self) -> int:
        return int(self._rows.size)

    @overload
    def __getitem__(self, i: int) -> Reached: ...

    @overload
    def __getitem__(self, i: slice) -> list[Reached]: ...

    def __getitem__(self, i: int | slice) -> Reached | list[Reached]:
        if self._all is not None:
            return self._all[i]
        if isinstance(i, slice):
            return self._table.hops(self._rows[i])
        return self._table.hop(int(self._rows[i]))

    def __iter__(self) -> Iterator[Reached]:
        return iter(self.materialise())

    def materialise(self) -> list[Reached]:
        if self._all is None:
            self._all = self._table.hops(self._rows)
        return self._all

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return self.materialise() == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"ReachedView({len(self)} nodes)"
