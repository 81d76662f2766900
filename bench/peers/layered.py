"""The layered lineage graph every peer loads: layers of datasets, each run reading a few datasets
of the previous layer and writing one of the next.

``layers`` x ``width`` datasets; between two layers ``width`` runs, each reading ``fan_in``
datasets of the previous layer (chosen with a fixed seed) and producing one dataset of the next.
The defaults (20 x 1,000, fan-in 3) make 39,000 nodes and 76,000 edges (115k elements); a dataset
of the first layer reaches about 14k nodes downstream, one of a late layer about 2k.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Layered:
    layers: int = 20
    width: int = 1_000
    fan_in: int = 3
    seed: int = 7

    def dataset(self, layer: int, i: int) -> str:
        return f"dataset:warehouse/l{layer:02d}.t{i:05d}@v1"

    def run(self, layer: int, i: int) -> str:
        return f"run:etl/l{layer:02d}.job{i:05d}@r1"

    def layer_edges(self, layer: int) -> list[tuple[str, str, str]]:
        """(source, type, target) of the runs writing layer ``layer`` (>= 1), deterministic."""
        rng = random.Random(self.seed * 1_000_003 + layer)
        out: list[tuple[str, str, str]] = []
        for i in range(self.width):
            run = self.run(layer, i)
            for src in rng.sample(range(self.width), self.fan_in):
                out.append((self.dataset(layer - 1, src), "INPUT_TO", run))
            out.append((run, "PRODUCED", self.dataset(layer, i)))
        return out

    def nodes(self) -> Iterator[tuple[str, str]]:
        """(id, kind) of every node."""
        for layer in range(self.layers):
            for i in range(self.width):
                yield self.dataset(layer, i), "Dataset"
            if layer:
                for i in range(self.width):
                    yield self.run(layer, i), "Run"

    def edges(self) -> Iterator[tuple[str, str, str]]:
        for layer in range(1, self.layers):
            yield from self.layer_edges(layer)

    def batches(self) -> Iterator[dict[str, list[dict[str, str]]]]:
        """Registration batches (the public batch format), one per layer, inputs before outputs."""
        for layer in range(self.layers):
            nodes = [self._spec(self.dataset(layer, i)) for i in range(self.width)]
            edges: list[dict[str, str]] = []
            if layer:
                nodes += [self._spec(self.run(layer, i)) for i in range(self.width)]
                edges = [{"from": s, "type": t, "to": d} for s, t, d in self.layer_edges(layer)]
            yield {"nodes": nodes, "edges": edges}

    @staticmethod
    def _spec(node_id: str) -> dict[str, str]:
        kind, rest = node_id.split(":", 1)
        ns, tail = rest.split("/", 1)
        name, version = tail.rsplit("@", 1)
        return {"kind": "Dataset" if kind == "dataset" else "Run", "namespace": ns, "name": name, "version": version}

    def starts(self) -> dict[str, str]:
        """Start nodes by closure label: a first-layer dataset (~14k downstream), a late one (~2k)."""
        return {"14k": self.dataset(0, 0), "2k": self.dataset(self.layers - 4, 0)}
