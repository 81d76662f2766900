"""A realistic ML-platform lineage graph for `lineage demo`: a few hundred nodes, deterministic.

Raw event streams and label sets are snapshotted daily, cleaned and joined into a customer-360 hub
table; feature pipelines compute versioned features from it; training runs at specific commits
consume features and labels and produce model versions; evaluation runs score them; some model
versions serve in staging and production, with online features read by the live services.
The same call always builds the same batch, so loading it twice changes nothing.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from lineage.model import Batch, EdgeSpec, EdgeType, NodeKind, NodeSpec

REPO = "github.com/acme/ml-platform"
DAYS = 7
START = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
#: The corrupted upstream version the demo report is about.
CORRUPTED = "dataset:raw/payments.transactions@2026-11-03"

RAW_SOURCES = {
    "clickstream.events": ("kafka://events", ["team-data-platform", "maria.silva@acme.com"]),
    "payments.transactions": ("s3://acme-raw/payments", ["team-payments-data", "omar.haddad@acme.com"]),
    "crm.customers": ("postgres://crm/public", ["team-crm", "lena.kowalski@acme.com"]),
    "support.tickets": ("s3://acme-raw/support", ["team-support-analytics"]),
}
#: feature: (inputs among the cleaned tables, owner)
FEATURES: dict[str, tuple[list[str], str]] = {
    "customer_tenure_days": (["customer_360"], "team-ml-platform"),
    "orders_30d": (["customer_360", "transactions_clean"], "team-ml-platform"),
    "spend_90d": (["transactions_clean"], "team-ml-platform"),
    "avg_basket_value": (["transactions_clean"], "team-ml-platform"),
    "refund_rate_90d": (["transactions_clean"], "team-risk-ml"),
    "chargeback_count_180d": (["transactions_clean"], "team-risk-ml"),
    "sessions_7d": (["events_clean"], "team-ml-platform"),
    "pages_per_session": (["events_clean"], "team-ml-platform"),
    "days_since_last_visit": (["events_clean", "customer_360"], "team-ml-platform"),
    "support_tickets_30d": (["tickets_clean", "customer_360"], "team-churn-ml"),
    "negative_ticket_ratio": (["tickets_clean"], "team-churn-ml"),
    "device_change_rate": (["events_clean"], "team-risk-ml"),
    "geo_velocity": (["events_clean", "transactions_clean"], "team-risk-ml"),
    "category_affinity": (["transactions_clean", "events_clean"], "team-recs-ml"),
    "price_sensitivity": (["transactions_clean"], "team-recs-ml"),
    "email_engagement": (["customer_360"], "team-churn-ml"),
}
#: model: (features, label set, owner, deployments: {version: [environments]})
MODELS: dict[str, tuple[list[str], str, str, dict[int, list[str]]]] = {
    "churn-classifier": (
        [
            "customer_tenure_days",
            "orders_30d",
            "spend_90d",
            "sessions_7d",
            "days_since_last_visit",
            "support_tickets_30d",
            "negative_ticket_ratio",
            "email_engagement",
        ],
        "churn_labels",
        "team-churn-ml",
        {3: ["prod"], 4: ["staging"]},
    ),
    "fraud-detector": (
        [
            "refund_rate_90d",
            "chargeback_count_180d",
            "device_change_rate",
            "geo_velocity",
            "avg_basket_value",
        ],
        "fraud_labels",
        "team-risk-ml",
        {2: ["prod"], 3: ["staging"]},
    ),
    "ltv-regressor": (
        ["spend_90d", "avg_basket_value", "orders_30d", "customer_tenure_days"],
        "ltv_labels",
        "team-growth-ml",
        {2: ["prod"]},
    ),
    "product-recommender": (
        ["category_affinity", "price_sensitivity", "sessions_7d", "pages_per_session"],
        "recs_interactions",
        "team-recs-ml",
        {1: ["prod"], 2: ["staging"]},
    ),
    "support-router": (
        ["support_tickets_30d", "negative_ticket_ratio"],
        "ticket_routing_labels",
        "team-support-analytics",
        {},
    ),
}
SERVICES = {
    "churn-classifier": "churn-api",
    "fraud-detector": "fraud-scoring",
    "ltv-regressor": "ltv-batch-scorer",
    "product-recommender": "recs-api",
}
ONLINE = {"fraud-scoring": ["geo_velocity", "device_change_rate"], "recs-api": ["category_affinity"]}


class _Builder:
    def __init__(self) -> None:
        self.nodes: dict[str, NodeSpec] = {}
        self.edges: list[EdgeSpec] = []
        self.rng = random.Random(7)
        self.commits: list[str] = []

    def node(
        self,
        kind: NodeKind,
        namespace: str,
        name: str,
        version: str | None,
        when: datetime,
        owners: list[str] | None = None,
        **props: Any,
    ) -> str:
        spec = NodeSpec(
            kind=kind,
            namespace=namespace,
            name=name,
            version=version,
            event_time=when,
            owners=owners or [],
            properties=props,
        )
        self.nodes.setdefault(spec.id, spec)
        return spec.id

    def edge(self, src: str, kind: EdgeType, dst: str) -> None:
        self.edges.append(EdgeSpec.model_validate({"from": src, "type": kind, "to": dst}))

    def commit(self, when: datetime, message: str, author: str) -> str:
        sha = f"{self.rng.getrandbits(160):040x}"
        cid = self.node(
            NodeKind.CODE_COMMIT,
            "git",
            REPO,
            sha,
            when,
            repository=f"https://{REPO}",
            author=author,
            message=message,
            committed_at=when.isoformat(),
        )
        self.commits.append(cid)
        return cid

    def run(
        self,
        job: str,
        run_id: str,
        when: datetime,
        inputs: list[str],
        outputs: list[str],
        commit: str | None = None,
        ns: str = "airflow",
        **props: Any,
    ) -> str:
        rid = self.node(
            NodeKind.RUN,
            ns,
            job,
            run_id,
            when,
            status="COMPLETE",
            job=job,
            started_at=when.isoformat(),
            ended_at=(when + timedelta(minutes=17)).isoformat(),
            **props,
        )
        for i in inputs:
            self.edge(i, EdgeType.INPUT_TO, rid)
        for o in outputs:
            self.edge(rid, EdgeType.PRODUCED, o)
        if commit:
            self.edge(commit, EdgeType.EXECUTED_IN, rid)
        return rid


def build_demo_batch() -> Batch:
    b = _Builder()
    etl_commit = b.commit(START - timedelta(days=3), "etl: dedupe clickstream by event id", "maria.silva")
    feat_commit = b.commit(START - timedelta(days=2), "features: add geo_velocity", "jin.park")
    cleaned: dict[str, list[str]] = {
        "events_clean": [],
        "transactions_clean": [],
        "tickets_clean": [],
        "customer_360": [],
    }
    raw_tables = {
        "clickstream.events": "events_clean",
        "payments.transactions": "transactions_clean",
        "support.tickets": "tickets_clean",
    }
    for day in range(DAYS):
        when = START + timedelta(days=day)
        stamp = when.date().isoformat()
        raw = {
            name: b.node(
                NodeKind.DATASET,
                "raw",
                name,
                stamp,
                when,
                owners,
                location=f"{loc}/{stamp}",
                rows=b.rng.randint(2_000_000, 9_000_000),
                format="parquet",
            )
            for name, (loc, owners) in RAW_SOURCES.items()
        }
        for name, clean in raw_tables.items():
            out = b.node(
                NodeKind.DATASET,
                "warehouse",
                clean,
                stamp,
                when + timedelta(hours=1),
                ["team-data-platform"],
                table=f"analytics.{clean}",
                partition=stamp,
            )
            b.run(
                f"etl.clean_{clean.removesuffix('_clean')}",
                f"{clean}-{stamp}",
                when + timedelta(minutes=30),
                [raw[name]],
                [out],
                etl_commit,
            )
            cleaned[clean].append(out)
        # the hub: customer_360 joins every cleaned source and the CRM snapshot
        hub = b.node(
            NodeKind.DATASET,
            "warehouse",
            "customer_360",
            stamp,
            when + timedelta(hours=2),
            ["team-data-platform", "maria.silva@acme.com"],
            table="analytics.customer_360",
            partition=stamp,
            contains="customer profile, contact and behaviour",
        )
        b.run(
            "etl.build_customer_360",
            f"c360-{stamp}",
            when + timedelta(hours=1, minutes=30),
            [
                raw["crm.customers"],
                cleaned["events_clean"][-1],
                cleaned["transactions_clean"][-1],
                cleaned["tickets_clean"][-1],
            ],
            [hub],
            etl_commit,
        )
        cleaned["customer_360"].append(hub)

    # features: two definition versions, recomputed on days 3 and 6 (v2 from day 5 on)
    features: dict[str, list[str]] = {}
    for fname, (inputs, owner) in FEATURES.items():
        for day in (2, 5):
            version = "v1" if day == 2 else "v2"
            when = START + timedelta(days=day, hours=3)
            fid = b.node(
                NodeKind.FEATURE,
                "features",
                fname,
                f"{version}-{(START + timedelta(days=day)).date()}",
                when,
                [owner],
                definition_version=version,
                entity="customer_id",
                store="feast://online/customer",
            )
            ins = [cleaned[i][day] for i in inputs]
            b.run(
                "features.materialize",
                f"{fname}-{day}",
                when - timedelta(minutes=20),
                ins,
                [fid],
                feat_commit,
                ns="feast",
            )
            features.setdefault(fname, []).append(fid)

    # labels
    labels = {
        lname: [
            b.node(
                NodeKind.DATASET,
                "labels",
                lname,
                f"v{v}",
                START + timedelta(days=v),
                [owner],
                source="annotation-tool",
                rows=b.rng.randint(50_000, 400_000),
            )
            for v in (1, 2)
        ]
        for lname, owner in {
            "churn_labels": "team-churn-ml",
            "fraud_labels": "team-risk-ml",
            "ltv_labels": "team-growth-ml",
            "recs_interactions": "team-recs-ml",
            "ticket_routing_labels": "team-support-analytics",
        }.items()
    }
    holdout = b.node(
        NodeKind.DATASET,
        "labels",
        "golden_holdout",
        "2026-10",
        START - timedelta(days=20),
        ["team-ml-platform"],
        purpose="evaluation",
    )

    authors = ["ana.ruiz", "jin.park", "sam.okafor", "priya.nair"]
    for mname, (feats, label, owner, deployments) in MODELS.items():
        for mver in range(1, 5):
            day = min(DAYS - 1, mver + 1)
            when = START + timedelta(days=day, hours=6)
            commit = b.commit(
                when - timedelta(hours=3),
                f"{mname}: training config v{mver}",
                authors[(mver + len(mname)) % len(authors)],
            )
            fv = 0 if day < 5 else 1
            inputs = [features[f][fv] for f in feats] + [labels[label][0 if mver < 3 else 1]]
            auc = round(0.71 + 0.02 * mver + b.rng.random() * 0.01, 4)
            mid = b.node(
                NodeKind.MODEL,
                "ml",
                mname,
                str(mver),
                when + timedelta(hours=1),
                [owner],
                framework="lightgbm",
                artifact_uri=f"s3://acme-models/{mname}/{mver}/model.txt",
                metrics={"auc": auc},
                params={"num_leaves": 31 + 8 * mver, "learning_rate": 0.05},
            )
            b.run(
                f"train.{mname}",
                f"train-{mname}-{mver}",
                when,
                inputs,
                [mid],
                commit,
                ns="ci",
                ci_system="github-actions",
                trigger="merge to main",
            )
            report = b.node(
                NodeKind.DATASET,
                "ml-eval",
                f"{mname}.evaluation",
                str(mver),
                when + timedelta(hours=2),
                [owner],
                metrics={"auc": auc},
            )
            b.run(
                f"evaluate.{mname}",
                f"eval-{mname}-{mver}",
                when + timedelta(hours=1, minutes=30),
                [mid, holdout],
                [report],
                commit,
                ns="ci",
                ci_system="github-actions",
            )
            for env in deployments.get(mver, []):
                service = SERVICES[mname]
                dep = b.node(
                    NodeKind.DEPLOYMENT,
                    env,
                    service,
                    None,
                    when + timedelta(hours=4),
                    [owner, "team-sre"],
                    environment=env,
                    endpoint=f"https://{service}.{env}.acme.internal",
                    status="serving",
                    model_version=mver,
                )
                b.edge(mid, EdgeType.DEPLOYED_AS, dep)
                for online in ONLINE.get(service, []):
                    b.edge(features[online][1], EdgeType.FEEDS, dep)
    # a weekly aggregate derived directly from the hub, without a recorded run
    for day in range(DAYS):
        weekly = b.node(
            NodeKind.DATASET,
            "reporting",
            "customer_kpis_daily",
            str(day + 1),
            START + timedelta(days=day, hours=5),
            ["team-bi"],
        )
        b.edge(cleaned["customer_360"][day], EdgeType.FEEDS, weekly)
    return Batch(nodes=list(b.nodes.values()), edges=b.edges)
