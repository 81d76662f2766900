"""Synthetic ML-platform lineage graphs for the benchmarks, deterministic for a given seed.

Shape, one layer feeding the next (edges point the way data flows):

- **ETL**: per business domain, raw source tables snapshotted daily (``Dataset``), one cleaning
  run per snapshot (``Run``, executed at an ETL commit) producing a cleaned table version; per day,
  join runs read several cleaned tables of that day (overlapping inputs: diamonds) and produce the
  domain's hub tables; a weekly platform-wide ``customer_360`` joins the domain hubs. Some hub
  versions ``FEEDS`` a reporting table directly (no recorded run).
- **Features**: feature pipeline runs read a domain hub (skewed choice, so a few hub versions
  have thousands of consumers), often the global hub, sometimes a cleaned table or the batch
  predictions of an earlier model, and produce one to three feature versions.
- **Training**: training runs at a code commit (commits are shared by a few runs) read 8 to 30
  feature versions, a label set version and now and then a base model (distillation), and produce
  a model version; an evaluation run scores it against the domain's holdout set.
- **Serving**: some model versions are deployed to staging or production; production services
  read one to three online features (``FEEDS``); some production models run batch scoring whose
  predictions later feature pipelines read, so lineage gets deep.

The generator yields :class:`lineage.model.Batch` chunks in topological order. Each node is
emitted together with the edges that point at it, so every edge's target is new in its batch and
every source is either in the batch or already registered: the same way CI jobs register a run
with its inputs and outputs.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from lineage.model import Batch, EdgeSpec, EdgeType, NodeKind, NodeSpec

START = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)
REPO = "github.com/acme/ml-platform"
DOMAIN_NAMES = (
    "payments",
    "clickstream",
    "crm",
    "support",
    "logistics",
    "marketing",
    "inventory",
    "risk",
    "search",
    "ads",
    "pricing",
    "catalog",
)
TABLES = ("events", "transactions", "accounts", "sessions", "orders", "tickets", "devices", "refunds")
KIND_CODES = {k: i for i, k in enumerate(NodeKind)}
KINDS = list(NodeKind)
EDGE_CODES = {t: i for i, t in enumerate(EdgeType)}
EDGE_TYPES = list(EdgeType)


@dataclass(slots=True)
class _Domain:
    name: str
    tables: list[str]
    cleaned: list[list[int]] = field(default_factory=list)  # per day, cleaned table versions
    hubs: list[int] = field(default_factory=list)  # hub versions, oldest first
    features: list[int] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    holdout: int = -1
    predictions: list[int] = field(default_factory=list)
    models: list[int] = field(default_factory=list)
    served: list[int] = field(default_factory=list)  # production model versions
    model_versions: dict[str, int] = field(default_factory=dict)


class LineageGraph:
    """A synthetic graph of about ``nodes`` nodes; iterate :meth:`batches` to register it.

    After a full iteration, ``ids``, ``kinds`` (codes into ``KINDS``), ``src`` and ``dst``
    (node indices) describe the whole graph for picking start nodes.
    """

    def __init__(self, nodes: int, *, seed: int = 42, chunk: int = 50_000, days: int = 30) -> None:
        if nodes < 500:
            raise ValueError("use at least 500 nodes")
        self.target = nodes
        self.seed = seed
        self.chunk = chunk
        self.days = days
        self.ids: list[str] = []
        self.index: dict[str, int] = {}
        self.kinds = bytearray()
        self.src = array("i")
        self.dst = array("i")
        self.edge_types = bytearray()
        self._pending_nodes: list[NodeSpec] = []
        self._pending_edges: list[EdgeSpec] = []
        self._rng = random.Random(seed)
        self._seq = 0

    # -- primitives ---------------------------------------------------------------------------

    def _node(
        self,
        kind: NodeKind,
        namespace: str,
        name: str,
        version: str | None,
        when: datetime,
        owners: Sequence[str] = (),
        **props: Any,
    ) -> int:
        spec = NodeSpec(
            kind=kind,
            namespace=namespace,
            name=name,
            version=version,
            event_time=when,
            owners=list(owners),
            properties=props,
        )
        idx = len(self.ids)
        self.ids.append(spec.id)
        self.index[spec.id] = idx
        self.kinds.append(KIND_CODES[kind])
        self._pending_nodes.append(spec)
        return idx

    def _edge(self, src: int, edge_type: EdgeType, dst: int) -> None:
        self._pending_edges.append(EdgeSpec(source=self.ids[src], type=edge_type, target=self.ids[dst]))
        self.src.append(src)
        self.dst.append(dst)
        self.edge_types.append(EDGE_CODES[edge_type])

    def _run(
        self,
        namespace: str,
        job: str,
        when: datetime,
        inputs: Sequence[int],
        outputs: Sequence[tuple[str, str, str, dict[str, Any]]],
        commit: int | None,
        owners: Sequence[str],
        out_kind: NodeKind = NodeKind.DATASET,
        **props: Any,
    ) -> tuple[int, list[int]]:
        """A run with its inputs, commit and outputs (namespace, name, version, properties)."""
        self._seq += 1
        run = self._node(
            NodeKind.RUN,
            namespace,
            job,
            f"{self._seq:08d}",
            when,
            status="COMPLETE",
            job=job,
            started_at=when.isoformat(),
            ended_at=(when + timedelta(minutes=7 + self._seq % 50)).isoformat(),
            **props,
        )
        for i in dict.fromkeys(inputs):
            self._edge(i, EdgeType.INPUT_TO, run)
        if commit is not None:
            self._edge(commit, EdgeType.EXECUTED_IN, run)
        outs = []
        for ns, name, version, oprops in outputs:
            out = self._node(out_kind, ns, name, version, when + timedelta(minutes=30), owners, **oprops)
            self._edge(run, EdgeType.PRODUCED, out)
            outs.append(out)
        return run, outs

    def _commit(self, when: datetime, message: str, author: str) -> int:
        sha = f"{self._rng.getrandbits(160):040x}"
        return self._node(
            NodeKind.CODE_COMMIT,
            "git",
            REPO,
            sha,
            when,
            repository=f"https://{REPO}",
            author=author,
            message=message,
        )

    def _flush(self, force: bool = False) -> Batch | None:
        if not self._pending_nodes and not self._pending_edges:
            return None
        if not force and len(self._pending_nodes) + len(self._pending_edges) < self.chunk:
            return None
        batch = Batch(nodes=self._pending_nodes, edges=self._pending_edges)
        self._pending_nodes, self._pending_edges = [], []
        return batch

    # -- the graph ----------------------------------------------------------------------------

    def batches(self) -> Iterator[Batch]:
        """Registration batches of about ``chunk`` nodes plus edges each, in topological order."""
        rng = self._rng
        n_domains = max(2, round(self.target**0.5 / 50))
        domains = []
        for d in range(n_domains):
            base = DOMAIN_NAMES[d % len(DOMAIN_NAMES)]
            name = base if d < len(DOMAIN_NAMES) else f"{base}{d // len(DOMAIN_NAMES)}"
            domains.append(_Domain(name, rng.sample(TABLES, 6)))

        # ---- ETL: raw -> clean -> domain hubs -> global hub, day by day
        etl_commits = [
            self._commit(START - timedelta(days=40 - 10 * k), f"etl: release {k}", "etl-bot") for k in range(4)
        ]
        global_hubs: list[int] = []
        for day in range(self.days):
            when = START + timedelta(days=day)
            stamp = when.date().isoformat()
            commit = etl_commits[min(3, day // 10)]
            for dom in domains:
                team = f"team-{dom.name}-data"
                cleaned = []
                for table in dom.tables:
                    raw = self._node(
                        NodeKind.DATASET,
                        "raw",
                        f"{dom.name}.{table}",
                        stamp,
                        when,
                        [team],
                        location=f"s3://acme-raw/{dom.name}/{table}/{stamp}",
                        rows=rng.randint(100_000, 9_000_000),
                        format="parquet",
                    )
                    _, (out,) = self._run(
                        "airflow",
                        f"etl.clean_{dom.name}_{table}",
                        when + timedelta(minutes=20),
                        [raw],
                        [("warehouse", f"{dom.name}.{table}_clean", stamp, {"partition": stamp})],
                        commit,
                        [team],
                    )
                    cleaned.append(out)
                dom.cleaned.append(cleaned)
                for h in range(2):
                    inputs = rng.sample(cleaned, rng.randint(3, 5))
                    _, (hub,) = self._run(
                        "airflow",
                        f"etl.build_{dom.name}_hub{h}",
                        when + timedelta(hours=1),
                        inputs,
                        [("warehouse", f"{dom.name}.hub{h}", stamp, {"partition": stamp, "hub": True})],
                        commit,
                        [team, "team-data-platform"],
                    )
                    dom.hubs.append(hub)
                    if rng.random() < 0.3:
                        kpi = self._node(
                            NodeKind.DATASET, "reporting", f"{dom.name}.kpis_hub{h}", stamp, when, ["team-bi"]
                        )
                        self._edge(hub, EdgeType.FEEDS, kpi)
            if day % 7 == 6:
                _, (g,) = self._run(
                    "airflow",
                    "etl.build_customer_360",
                    when + timedelta(hours=2),
                    [dom.hubs[-2] for dom in domains],
                    [("warehouse", "customer_360", stamp, {"contains": "customer profile and behaviour"})],
                    commit,
                    ["team-data-platform"],
                )
                global_hubs.append(g)
            if (batch := self._flush()) is not None:
                yield batch
        for dom in domains:
            team = f"team-{dom.name}-ml"
            dom.labels = [
                self._node(NodeKind.DATASET, "labels", f"{dom.name}.labels", f"v{v}", START, [team])
                for v in range(1, 4)
            ]
            dom.holdout = self._node(
                NodeKind.DATASET, "labels", f"{dom.name}.golden_holdout", "v1", START, [team], purpose="evaluation"
            )

        # ---- ML: features, training, evaluation, serving, in waves so predictions feed later features
        waves = 4
        etl_nodes = len(self.ids)
        remaining = max(0, self.target - etl_nodes)
        feat_commits: list[int] = []
        train_commits: list[int] = []
        n_models = 0
        for wave in range(waves):
            wave_end = etl_nodes + remaining * (wave + 1) // waves
            feature_end = len(self.ids) + (wave_end - len(self.ids)) * 55 // 100
            day = self.days + wave * 7
            # feature pipelines
            while len(self.ids) < feature_end:
                dom = domains[rng.randrange(n_domains)]
                when = START + timedelta(days=day, hours=rng.randrange(24))
                if not feat_commits or rng.random() < 0.05:
                    feat_commits.append(self._commit(when - timedelta(hours=3), "features: update", "feature-bot"))
                hubs = dom.hubs
                inputs = [hubs[len(hubs) - 1 - int(len(hubs) * rng.random() ** 4)]]
                if global_hubs and rng.random() < 0.25:
                    inputs.append(global_hubs[int(len(global_hubs) * rng.random() ** 3)])
                if rng.random() < 0.3:
                    inputs.append(rng.choice(dom.cleaned[rng.randrange(self.days)]))
                if dom.predictions and rng.random() < 0.15:
                    inputs.append(rng.choice(dom.predictions[-20:]))
                k = len(dom.features)
                outs = [
                    ("features", f"{dom.name}.f{k + j}", f"v{wave + 1}", {"entity": "customer_id", "dtype": "float"})
                    for j in range(rng.randint(1, 3))
                ]
                _, feats = self._run(
                    "feast",
                    f"features.{dom.name}.group{k % 50}",
                    when,
                    inputs,
                    outs,
                    feat_commits[-1],
                    [f"team-{dom.name}-ml"],
                    out_kind=NodeKind.FEATURE,
                )
                dom.features.extend(feats)
                if (batch := self._flush()) is not None:
                    yield batch
            # training, evaluation, serving
            while len(self.ids) < wave_end:
                dom = domains[rng.randrange(n_domains)]
                team = f"team-{dom.name}-ml"
                when = START + timedelta(days=day + 3, hours=rng.randrange(24))
                if not train_commits or rng.random() < 0.5:
                    train_commits.append(self._commit(when - timedelta(hours=2), "train: config", "ml-engineer"))
                commit = train_commits[-1]
                if not dom.features:
                    continue
                if not dom.models or rng.random() < 0.2:
                    dom.models.append(n_models)
                    n_models += 1
                model_name = f"{dom.name}-model{rng.choice(dom.models)}"
                version = dom.model_versions.get(model_name, 0) + 1
                dom.model_versions[model_name] = version
                recent = dom.features[-400:]
                feats = rng.sample(recent, min(len(recent), rng.randint(8, 30)))
                inputs = [*feats, rng.choice(dom.labels)]
                if dom.served and rng.random() < 0.05:
                    inputs.append(rng.choice(dom.served[-10:]))  # distillation from a served model
                _, (model,) = self._run(
                    "ci",
                    f"train.{model_name}",
                    when,
                    inputs,
                    [
                        (
                            "ml",
                            model_name,
                            str(version),
                            {"framework": "lightgbm", "metrics": {"auc": round(0.7 + rng.random() * 0.2, 4)}},
                        )
                    ],
                    commit,
                    [team],
                    out_kind=NodeKind.MODEL,
                    ci_system="github-actions",
                )
                self._run(
                    "ci",
                    f"evaluate.{model_name}",
                    when + timedelta(hours=1),
                    [model, dom.holdout],
                    [("ml-eval", f"{model_name}.evaluation", str(version), {})],
                    commit,
                    [team],
                )
                r = rng.random()
                if r < 0.35:
                    env = "prod" if r < 0.12 else "staging"
                    dep = self._node(
                        NodeKind.DEPLOYMENT,
                        env,
                        f"{model_name}-v{version}-svc",
                        None,
                        when + timedelta(hours=5),
                        [team, "team-sre"],
                        environment=env,
                        endpoint=f"https://{model_name}.{env}.acme.internal/v{version}",
                        status="serving",
                    )
                    self._edge(model, EdgeType.DEPLOYED_AS, dep)
                    if env == "prod":
                        dom.served.append(model)
                        for f in rng.sample(feats, min(len(feats), rng.randint(1, 3))):
                            self._edge(f, EdgeType.FEEDS, dep)
                        if rng.random() < 0.5:
                            _, (pred,) = self._run(
                                "airflow",
                                f"score.{model_name}",
                                when + timedelta(hours=8),
                                [model, dom.hubs[-1]],
                                [("predictions", f"{model_name}.scores", f"{version}", {})],
                                None,
                                [team],
                            )
                            dom.predictions.append(pred)
                if (batch := self._flush()) is not None:
                    yield batch
        if (batch := self._flush(force=True)) is not None:
            yield batch

    # -- closures -----------------------------------------------------------------------------

    def adjacency(self, downstream: bool) -> tuple[array[int], array[int]]:
        """CSR adjacency (offsets, targets) over node indices, out-edges or in-edges."""
        n = len(self.ids)
        a, b = (self.src, self.dst) if downstream else (self.dst, self.src)
        counts = array("i", bytes(4 * (n + 1)))
        for u in a:
            counts[u + 1] += 1
        for i in range(n):
            counts[i + 1] += counts[i]
        pos = array("i", counts)
        out = array("i", bytes(4 * len(a)))
        for u, v in zip(a, b, strict=True):
            out[pos[u]] = v
            pos[u] += 1
        return counts, out


def closure_size(offsets: array[int], targets: array[int], start: int, cap: int) -> int:
    """Number of nodes reachable from ``start`` (start excluded), counting stops past ``cap``."""
    seen = {start}
    frontier = [start]
    while frontier:
        nxt = []
        for u in frontier:
            for k in range(offsets[u], offsets[u + 1]):
                v = targets[k]
                if v not in seen:
                    seen.add(v)
                    nxt.append(v)
        if len(seen) > cap:
            return len(seen) - 1
        frontier = nxt
    return len(seen) - 1


def pick_starts(
    graph: LineageGraph,
    *,
    downstream: bool,
    sizes: Sequence[int],
    per_size: int = 3,
    seed: int = 1,
    budget: int = 6000,
) -> dict[int, list[tuple[str, int]]]:
    """For each wanted closure size, up to ``per_size`` (node id, exact closure size) pairs.

    Candidates are sampled per kind (so the rare ETL nodes with big closures are tried too) and
    their closure sizes computed with a capped breadth-first walk over the generated edge list;
    the nodes closest to each size (in ratio) win.
    """
    offsets, targets = graph.adjacency(downstream)
    rng = random.Random(seed)
    by_kind: dict[int, list[int]] = {}
    for i, k in enumerate(graph.kinds):
        if offsets[i + 1] > offsets[i]:
            by_kind.setdefault(k, []).append(i)
    candidates: list[int] = []
    share = budget // max(1, len(by_kind))
    for k in sorted(by_kind):
        pool = by_kind[k]
        candidates.extend(rng.sample(pool, min(len(pool), share)))
    cap = 3 * max(sizes)
    measured = [(c, closure_size(offsets, targets, c, cap)) for c in candidates]
    out: dict[int, list[tuple[str, int]]] = {}
    for size in sizes:
        ranked = sorted(measured, key=lambda cs: (abs(_log_ratio(cs[1], size)), cs[0]))
        out[size] = [(graph.ids[c], s) for c, s in ranked[:per_size]]
    return out


def _log_ratio(value: int, wanted: int) -> float:
    import math

    return math.log(max(value, 1) / wanted)


# -- the diamond lattice -------------------------------------------------------------------------


def diamond_lattice(n: int, namespace: str = "lattice") -> tuple[Batch, str, str]:
    """A chain of ``n`` diamonds: d0 -> (a0 | b0) -> d1 -> ... -> dn, with 2**n paths d0 to dn.

    Returns the batch, the first and the last dataset id. Each diamond is two runs reading the
    same dataset version and both producing the next one.
    """
    nodes: list[NodeSpec] = []
    edges: list[EdgeSpec] = []
    ns = f"{namespace}{n}"

    def dataset(i: int) -> str:
        spec = NodeSpec(kind=NodeKind.DATASET, namespace=ns, name=f"d{i}", version="1")
        nodes.append(spec)
        return spec.id

    prev = dataset(0)
    first = prev
    for i in range(n):
        runs = []
        for side in "ab":
            spec = NodeSpec(kind=NodeKind.RUN, namespace=ns, name=f"step{i}{side}", version="1")
            nodes.append(spec)
            runs.append(spec.id)
        nxt = dataset(i + 1)
        for r in runs:
            edges.append(EdgeSpec(source=prev, type=EdgeType.INPUT_TO, target=r))
            edges.append(EdgeSpec(source=r, type=EdgeType.PRODUCED, target=nxt))
        prev = nxt
    return Batch(nodes=nodes, edges=edges), first, prev


if __name__ == "__main__":
    import argparse
    import time

    parser = argparse.ArgumentParser(description="Generate a synthetic lineage graph and print its shape.")
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    t0 = time.perf_counter()
    g = LineageGraph(args.nodes, seed=args.seed)
    n_batches = sum(1 for _ in g.batches())
    print(f"{len(g.ids)} nodes, {len(g.src)} edges, {n_batches} batches in {time.perf_counter() - t0:.1f}s")
    counts: dict[str, int] = {}
    for k in g.kinds:
        counts[KINDS[k].value] = counts.get(KINDS[k].value, 0) + 1
    print(counts)
    off, _ = g.adjacency(True)
    fan = sorted(((off[i + 1] - off[i]), g.ids[i]) for i in range(len(g.ids)))[-5:]
    print("largest fan-out:", fan)
    for down in (True, False):
        picks = pick_starts(g, downstream=down, sizes=[10, 100, 1000, 10000])
        print("downstream" if down else "upstream", {k: [s for _, s in v] for k, v in picks.items()})
