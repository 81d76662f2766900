"""Request-scoped DataLoaders: every node fetch and every one-level expansion of a GraphQL
execution level is batched into one store call, so nested selections are N+1 free.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING

from strawberry.dataloader import DataLoader

from lineage.model import NodeRecord
from lineage.storage.base import Direction, Hop

if TYPE_CHECKING:
    from lineage.api.context import Context

NodeKey = tuple[str, datetime | None]
HopKey = tuple[str, Direction, datetime | None]


class Loaders:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._nodes: DataLoader[NodeKey, NodeRecord | None] = DataLoader(load_fn=self._load_nodes)
        self.hops: DataLoader[HopKey, list[Hop]] = DataLoader(load_fn=self._load_hops)
        #: Records read with a report, handed to the node loader when it is first used (most
        #: requests never load a node by id: priming costs a future per record).
        self._primed: dict[NodeKey, NodeRecord] = {}

    @property
    def nodes(self) -> DataLoader[NodeKey, NodeRecord | None]:
        self._hand_over()
        return self._nodes

    def _hand_over(self) -> None:
        if self._primed:
            primed, self._primed = self._primed, {}
            self._nodes.prime_many(primed)

    async def _load_nodes(self, keys: list[NodeKey]) -> list[NodeRecord | None]:
        groups: dict[datetime | None, list[str]] = defaultdict(list)
        for node_id, as_of in keys:
            groups[as_of].append(node_id)
        found: dict[NodeKey, NodeRecord] = {}
        for as_of, ids in groups.items():
            records = await self._ctx.call(self._ctx.store.get_nodes, ids, as_of)
            found.update({(i, as_of): r for i, r in records.items()})
        return [found.get(k) for k in keys]

    async def _load_hops(self, keys: list[HopKey]) -> list[list[Hop]]:
        groups: dict[tuple[Direction, datetime | None], list[str]] = defaultdict(list)
        for node_id, direction, as_of in keys:
            groups[(direction, as_of)].append(node_id)
        found: dict[HopKey, list[Hop]] = defaultdict(list)
        for (direction, as_of), ids in groups.items():
            hops = await self._ctx.call(self._ctx.store.expand, ids, direction, as_of)
            hops.sort(key=lambda h: (h.origin, h.edge_type.value, h.reached))
            for hop in hops:
                found[(hop.origin, direction, as_of)].append(hop)
        return [found.get(k, []) for k in keys]

    def prime(self, records: dict[str, NodeRecord], as_of: datetime | None) -> None:
        """Let the node loader answer these records without a store call. Keys already primed
        or loaded keep their record (as ``DataLoader.prime_many`` does); loads waiting in a batch
        get theirs at once."""
        primed = self._primed
        for node_id, record in records.items():
            primed.setdefault((node_id, as_of), record)
        batch = self._nodes.batch
        if batch is not None and not batch.dispatched:
            self._hand_over()
