"""How long `lineage check` takes: the demo graph, then N copies of it in one store.

    python3 bench/policy_check.py --copies 1 20 100

Each copy is the demo platform in its own namespaces (275 nodes, 463 edges, 4 production
deployments), with one column classified pii.email. The policy has all four rule types. Prints one
line per size: nodes, edges, deployments checked, violations, the median of several runs of the
whole check, and of a check scoped with ``target`` to one production deployment (policy evaluation
only; loading is not timed). Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from lineage.demo import START, build_demo_batch
from lineage.governance.classifications import classify
from lineage.governance.policy import load_policy
from lineage.governance.policy_rules import check_policy
from lineage.model import Batch, EdgeSpec, NodeSpec
from lineage.storage import open_store

POLICY = """\
version: 1
rules:
  - type: require-provenance
  - type: require-owner
    kinds: [Model, Deployment]
  - type: forbid-flow
    classification: pii
  - type: max-staleness
    days: 30
"""


def copies(n: int) -> Batch:
    base = build_demo_batch()
    nodes: list[NodeSpec] = []
    edges: list[EdgeSpec] = []
    for k in range(n):
        rename = {}
        for spec in base.nodes:
            moved = spec.model_copy(update={"namespace": f"{spec.namespace}-{k}"})
            rename[spec.id] = moved.id
            nodes.append(moved)
        for e in base.edges:
            edges.append(EdgeSpec.model_validate({"from": rename[e.source], "type": e.type, "to": rename[e.target]}))
    return Batch(nodes=nodes, edges=edges)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, nargs="+", default=[1, 20])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    policy = load_policy(text=POLICY, name="bench-policy")
    for n in args.copies:
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
            batch = copies(n)
            store.register(batch, principal="bench")
            for k in range(n):
                classify(
                    store, f"dataset:raw-{k}/crm.customers@2026-11-03", ["pii.email"], column="email", principal="bench"
                )
            samples = []
            for _ in range(args.reps):
                started = time.perf_counter()
                report = check_policy(store, policy, now=START + timedelta(days=10))
                samples.append(time.perf_counter() - started)
            targeted = []
            for _ in range(args.reps):
                started = time.perf_counter()
                check_policy(store, policy, target="deployment:prod-0/churn-api", now=START + timedelta(days=10))
                targeted.append(time.perf_counter() - started)
            store.close()
        checked = report.outcomes[0].checked
        print(
            f"copies={n:<4} nodes={len(batch.nodes):<7} edges={len(batch.edges):<7} prod deployments={checked:<5} "
            f"violations={len(report.violations):<5} check median={statistics.median(samples) * 1000:.0f} ms "
            f"(min {min(samples) * 1000:.0f} ms, {args.reps} runs); --target one deployment: "
            f"{statistics.median(targeted) * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
