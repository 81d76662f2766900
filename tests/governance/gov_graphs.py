"""Small constructed graphs for governance tests: ids and a batch builder."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lineage.model import Batch, EdgeSpec, NodeSpec

RAW = "dataset:raw/customers@v1"
CLEAN_RUN = "run:etl/clean@r1"
CLEAN = "dataset:warehouse/customers_clean@v1"
TRAIN = "run:ci/train@t1"
COMMIT = "codecommit:git/acme/ml@abc123"
MODEL = "model:ml/churn@1"
PROD = "deployment:prod/churn-api"
STAGING = "deployment:staging/churn-api"
ANON_RUN = "run:etl/anonymise@a1"
ANON = "dataset:warehouse/customers_anon@v1"
AGG = "dataset:reporting/kpis@v1"
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def node(kind: str, ns: str, name: str, version: str | None, **extra: Any) -> NodeSpec:
    return NodeSpec.model_validate(
        {"kind": kind, "namespace": ns, "name": name, "version": version, "event_time": T0, **extra}
    )


def edge(src: str, kind: str, dst: str) -> EdgeSpec:
    return EdgeSpec.model_validate({"from": src, "type": kind, "to": dst})


def small_batch() -> Batch:
    """raw -> clean run -> clean -> train (at a commit) -> model -> prod and staging deployments;
    clean -> anonymise run -> anon -FEEDS-> agg."""
    nodes = [
        node("Dataset", "raw", "customers", "v1", owners=["team-crm"],
             properties={"columns": ["id", "email", "phone"]}),
        node("Run", "etl", "clean", "r1"),
        node("Dataset", "warehouse", "customers_clean", "v1", owners=["team-data"]),
        node("Run", "ci", "train", "t1"),
        node("CodeCommit", "git", "acme/ml", "abc123"),
        node("Model", "ml", "churn", "1", owners=["team-churn <churn@acme.com>"]),
        node("Deployment", "prod", "churn-api", None, properties={"environment": "prod"}),
        node("Deployment", "staging", "churn-api", None),
        node("Run", "etl", "anonymise", "a1"),
        node("Dataset", "warehouse", "customers_anon", "v1"),
        node("Dataset", "reporting", "kpis", "v1", owners=["team-bi"]),
    ]
    edges = [
        edge(RAW, "INPUT_TO", CLEAN_RUN),
        edge(CLEAN_RUN, "PRODUCED", CLEAN),
        edge(CLEAN, "INPUT_TO", TRAIN),
        edge(COMMIT, "EXECUTED_IN", TRAIN),
        edge(TRAIN, "PRODUCED", MODEL),
        edge(MODEL, "DEPLOYED_AS", PROD),
        edge(MODEL, "DEPLOYED_AS", STAGING),
        edge(CLEAN, "INPUT_TO", ANON_RUN),
        edge(ANON_RUN, "PRODUCED", ANON),
        edge(ANON, "FEEDS", AGG),
    ]
    return Batch(nodes=nodes, edges=edges)
