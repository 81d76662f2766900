"""One system of the peer benchmark, in its own process: loads the layered graph, answers timed queries.

Run by ``bench/peers/run.py`` (which talks to it over stdin/stdout, one JSON object per line), under
the project's Python for ``sqlite``, ``neo4j``, ``networkx`` and ``igraph``, and under the separate
virtual environment holding ``ml-metadata`` for ``mlmd`` (which needs nothing of this project).
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from layered import Layered

PAGE = 100  # rows a report shows (the API's default page, the CLI's default table)


class System:
    def load(self, g: Layered) -> None: ...
    def reach(self, start: str, downstream: bool) -> int: ...
    def report(self, start: str, downstream: bool) -> int | None:
        return None


class NetworkX(System):
    def load(self, g: Layered) -> None:
        import networkx as nx

        self.nx = nx
        self.g = nx.DiGraph()
        self.g.add_edges_from((s, d) for s, _, d in g.edges())

    def reach(self, start: str, downstream: bool) -> int:
        return len(self.nx.descendants(self.g, start) if downstream else self.nx.ancestors(self.g, start))


class IGraph(System):
    def load(self, g: Layered) -> None:
        import igraph

        names = [n for n, _ in g.nodes()]
        self.num = {n: i for i, n in enumerate(names)}
        self.g = igraph.Graph(n=len(names), edges=[(self.num[s], self.num[d]) for s, _, d in g.edges()], directed=True)

    def reach(self, start: str, downstream: bool) -> int:
        return len(self.g.subcomponent(self.num[start], mode="out" if downstream else "in")) - 1


class MLMD(System):
    """Google ML Metadata on SQLite: datasets are artifacts, runs executions, edges INPUT/OUTPUT events."""

    def load(self, g: Layered) -> None:
        from ml_metadata import metadata_store
        from ml_metadata.proto import metadata_store_pb2 as pb

        self.pb = pb
        folder = tempfile.mkdtemp(prefix="mlmd-")
        config = pb.ConnectionConfig()
        config.sqlite.filename_uri = f"{folder}/mlmd.sqlite"
        config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
        self.store = metadata_store.MetadataStore(config)
        dataset = self.store.put_artifact_type(pb.ArtifactType(name="Dataset"))
        run = self.store.put_execution_type(pb.ExecutionType(name="Run"))
        ids: dict[str, int] = {}
        for layer in range(g.layers):
            arts = [pb.Artifact(type_id=dataset, name=g.dataset(layer, i), uri=g.dataset(layer, i))
                    for i in range(g.width)]
            for art, num in zip(arts, self.store.put_artifacts(arts), strict=True):
                ids[art.name] = num
            if not layer:
                continue
            edges = g.layer_edges(layer)
            inputs: dict[str, list[str]] = {}
            outputs: dict[str, str] = {}
            for s, t, d in edges:
                if t == "INPUT_TO":
                    inputs.setdefault(d, []).append(s)
                else:
                    outputs[s] = d
            execs = [pb.Execution(type_id=run, name=r) for r in inputs]
            exec_ids = self.store.put_executions(execs)
            events = []
            for r, e in zip(inputs, exec_ids, strict=True):
                events += [pb.Event(artifact_id=ids[a], execution_id=e, type=pb.Event.INPUT) for a in inputs[r]]
                events.append(pb.Event(artifact_id=ids[outputs[r]], execution_id=e, type=pb.Event.OUTPUT))
            self.store.put_events(events)

    def _query(self, start: str, downstream: bool) -> Any:
        pb = self.pb
        opts = pb.LineageSubgraphQueryOptions(
            starting_artifacts=pb.LineageSubgraphQueryOptions.StartingNodes(filter_query=f"name = '{start}'"),
            max_num_hops=100,
            direction=(
                pb.LineageSubgraphQueryOptions.DOWNSTREAM if downstream else pb.LineageSubgraphQueryOptions.UPSTREAM
            ),
        )
        return self.store.get_lineage_subgraph(opts, ["artifacts", "executions", "events"])

    def reach(self, start: str, downstream: bool) -> int:
        graph = self._query(start, downstream)
        return len(graph.artifacts) + len(graph.executions) - 1


class Project(System):
    """This project through its public API: registration batches, store.reach, the impact report."""

    def __init__(self, url: str, wipe: bool) -> None:
        from lineage.storage import open_store

        self.store = open_store(url)
        if wipe and hasattr(self.store, "wipe"):
            self.store.wipe()

    def load(self, g: Layered) -> None:
        from lineage.model import parse_batch

        for batch in g.batches():
            self.store.register(parse_batch(batch), principal="user:bench", source="bench")
        self.store.traversal_index()  # the index is built on first use; a server warms it at start

    def reach(self, start: str, downstream: bool) -> int:
        from lineage.storage import Direction

        return len(self.store.reach(start, Direction.DOWNSTREAM if downstream else Direction.UPSTREAM).nodes)

    def report(self, start: str, downstream: bool) -> int:
        """The full report: every reached node with owners and production flags, counts, owners to
        notify, production deployments, and the first page of rows with records and paths."""
        from lineage.analysis import impact, provenance

        rep = (impact if downstream else provenance)(self.store, start)
        rep.counts()
        rep.owners()
        rep.production_deployments()
        for n in rep.shown(0, PAGE):
            n.node.properties  # noqa: B018  (the record is read for the rows shown)
            n.to_dict()
        return len(rep.nodes)


def make(system: str, args: dict[str, Any]) -> System:
    if system == "networkx":
        return NetworkX()
    if system == "igraph":
        return IGraph()
    if system == "mlmd":
        return MLMD()
    if system == "sqlite":
        return Project(f"sqlite:///{tempfile.mkdtemp(prefix='peers-')}/lineage.db", False)
    if system == "neo4j":
        return Project(args["neo4j_uri"], bool(args.get("neo4j_wipe")))
    raise SystemExit(f"unknown system {system}")


def main() -> None:
    system = sys.argv[1]
    args = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    g = Layered(args.get("layers", 20), args.get("width", 1000), args.get("fan_in", 3))
    impl = make(system, args)
    for line in sys.stdin:
        cmd = json.loads(line)
        out: dict[str, Any] = {}
        if cmd["op"] == "load":
            t = time.perf_counter()
            impl.load(g)
            out = {"seconds": time.perf_counter() - t}
        elif cmd["op"] in ("reach", "report"):
            fn = impl.reach if cmd["op"] == "reach" else impl.report
            t = time.perf_counter()
            n = fn(cmd["start"], cmd["downstream"])
            out = {"ms": (time.perf_counter() - t) * 1000, "n": n}
        elif cmd["op"] == "rss":
            out = {"mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
        elif cmd["op"] == "quit":
            break
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
