"""The OpenLineage HTTP endpoint: as a router in a small app, and end to end against `lineage serve`
with the real openlineage-python client and its HTTP transport."""

from __future__ import annotations

import gzip
import json
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from lineage_server import Served, make_token, serve
from ol_support import ds, fixture_events, run_event, run_id, snapshot

from lineage import Client
from lineage.api.openlineage import PATH, build_openlineage_router
from lineage.errors import NotFoundError
from lineage.ingest.openlineage import OpenLineageIngester
from lineage.storage import GraphStore, open_store

openlineage = pytest.importorskip("openlineage.client")


@dataclass(frozen=True)
class _Writer:
    id: str = "token:test-writer"

    def allow(self, namespaces: list[str]) -> None:
        return None


@pytest.fixture
def app_store(tmp_path: Path) -> Iterator[GraphStore]:
    store = open_store(f"sqlite:///{tmp_path / 'router.db'}")
    yield store
    store.close()


@pytest.fixture
def http(app_store: GraphStore) -> Iterator[TestClient]:
    async def writer(request: Request) -> _Writer:
        return _Writer()

    app = FastAPI()
    app.include_router(build_openlineage_router(lambda request: app_store, writer))
    with TestClient(app) as client:
        yield client


def test_one_event_is_stored_and_answered_201(http: TestClient, app_store: GraphStore) -> None:
    event = run_event("etl", run_id(1), "START", 0, outputs=[ds("wh", "t")])
    response = http.post(PATH, json=event)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["subject"] == f"run:pipelines/etl@{run_id(1)}" and body["raw_seq"] == 1
    assert app_store.get_node(body["subject"]).properties["status"] == "START"
    assert next(app_store.iter_raw_events()).payload == event


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (b'{"eventType": "START"', {}, "malformed JSON"),
        (b"", {}, "empty"),
        (b"[]", {}, "one event per request"),
        (
            json.dumps(
                {
                    "eventType": "START",
                    "eventTime": "2026-01-01T00:00:00Z",
                    "producer": "p",
                    "job": {"namespace": "a", "name": "b"},
                }
            ).encode(),
            {},
            "run: field required",
        ),
        (b"not gzip", {"Content-Encoding": "gzip"}, "not valid gzip"),
        (b'{"eventType": "START", "x": NaN}', {}, "NaN is not valid JSON"),
        (b"{}", {"Content-Encoding": "br"}, "unsupported Content-Encoding"),
    ],
)
def test_bad_requests_are_400_naming_the_problem_and_store_nothing(
    http: TestClient, app_store: GraphStore, body: bytes, headers: dict[str, str], message: str
) -> None:
    response = http.post(PATH, content=body, headers={"Content-Type": "application/json", **headers})
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_INPUT" and message in error["message"]
    assert app_store.counts()["raw_events"] == 0 and app_store.counts()["nodes"] == 0


def test_gzip_body_is_accepted(http: TestClient, app_store: GraphStore) -> None:
    event = run_event("etl", run_id(2), "COMPLETE", 1)
    response = http.post(
        PATH,
        content=gzip.compress(json.dumps(event).encode()),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 201
    assert app_store.get_node(f"run:pipelines/etl@{run_id(2)}").properties["status"] == "COMPLETE"


def test_batch_endpoint_answers_each_event(http: TestClient, app_store: GraphStore) -> None:
    good = run_event("etl", run_id(3), "START", 0)
    bad = {**run_event("etl", run_id(4), "START", 0), "eventTime": "soon"}
    partly = http.post(f"{PATH}/batch", json=[good, bad])
    assert partly.status_code == 207
    results = partly.json()["results"]
    assert results[0]["status"] == "ok" and results[1]["status"] == "error"
    assert "[1]: invalid OpenLineage RunEvent: eventTime" in results[1]["message"]
    assert app_store.counts()["raw_events"] == 1
    assert http.post(f"{PATH}/batch", json=good).status_code == 400
    accepted = http.post(f"{PATH}/batch", json=[good, run_event("etl", run_id(3), "COMPLETE", 5)])
    assert accepted.status_code == 201
    assert accepted.json()["received"] == 2 and accepted.json()["failed"] == 0
    assert app_store.get_node(f"run:pipelines/etl@{run_id(3)}").properties["status"] == "COMPLETE"


def test_concurrent_requests_share_commits_and_lose_nothing(
    http: TestClient, app_store: GraphStore, tmp_path: Path
) -> None:
    events = [
        run_event(
            f"job{j}",
            run_id(100 + j),
            kind,
            j + (5 if kind == "COMPLETE" else 0),
            inputs=[ds("wh", f"t{j - 1}")] if j else [],
            outputs=[ds("wh", f"t{j}")],
        )
        for j in range(12)
        for kind in ("START", "COMPLETE")
    ]
    failures: list[int] = []

    def post(chunk: list[dict[str, Any]]) -> None:
        for event in chunk:
            response = http.post(PATH, json=event)
            if response.status_code != 201:
                failures.append(response.status_code)

    threads = [threading.Thread(target=post, args=(events[i::6],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    with open_store(f"sqlite:///{tmp_path / 'sequential.db'}") as reference:
        OpenLineageIngester(reference, principal="token:test-writer").ingest_many(events)
        assert snapshot(app_store) == snapshot(reference)
    assert app_store.counts()["raw_events"] == len(events)


# -- end to end: a real server and the real openlineage client ---------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("served")
    url = f"sqlite:///{folder / 'served.db'}"
    open_store(url).close()
    with serve(url, folder) as server:
        yield server


def ol_client(served: Served, token: str | None, compression: str | None = "gzip") -> Any:
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.http import HttpConfig, HttpTransport

    config: dict[str, Any] = {"url": served.url, "timeout": 10}
    if token:
        config["auth"] = {"type": "api_key", "apiKey": token}
    if compression:
        config["compression"] = compression
    return OpenLineageClient(transport=HttpTransport(HttpConfig.from_dict(config)))


def test_real_client_run_dataset_and_job_events(served: Served) -> None:
    from openlineage.client.event_v2 import (
        DatasetEvent,
        InputDataset,
        Job,
        JobEvent,
        OutputDataset,
        Run,
        RunEvent,
        RunState,
        StaticDataset,
    )
    from openlineage.client.facet_v2 import schema_dataset, source_code_location_job

    client = ol_client(served, served.token)
    rid = str(uuid.uuid4())
    now = datetime.now(UTC)
    job_facets = {
        "sourceCodeLocation": source_code_location_job.SourceCodeLocationJobFacet(
            type="git",
            url="https://github.com/acme/dags",
            repoUrl="https://github.com/acme/dags.git",
            version="0123456789abcdef0123456789abcdef01234567",
        )
    }
    schema = schema_dataset.SchemaDatasetFacet(fields=[schema_dataset.SchemaDatasetFacetFields(name="id", type="INT")])
    out = OutputDataset("postgres://db:5432", "public.clean", facets={"schema": schema})
    for state in (RunState.START, RunState.COMPLETE):
        client.emit(
            RunEvent(
                eventType=state,
                eventTime=now.isoformat(),
                run=Run(runId=rid),
                job=Job(namespace="airflow", name="clean", facets=job_facets),
                producer="https://example.com/e2e",
                inputs=[InputDataset("postgres://db:5432", "public.raw")],
                outputs=[out],
            )
        )
    client.emit(
        DatasetEvent(
            eventTime=now.isoformat(),
            producer="https://example.com/e2e",
            dataset=StaticDataset("postgres://db:5432", "public.ref", facets={"schema": schema}),
        )
    )
    client.emit(
        JobEvent(
            eventTime=now.isoformat(),
            producer="https://example.com/e2e",
            job=Job(namespace="airflow", name="static"),
            inputs=[InputDataset("postgres://db:5432", "public.ref")],
            outputs=[OutputDataset("postgres://db:5432", "public.derived")],
        )
    )
    # read-after-write: the events are visible as soon as the client's calls return
    with Client(served.url, token=served.token) as sdk:
        run = sdk.get(f"run:airflow/clean@{rid}")
        assert run.status == "COMPLETE"
        output = f"dataset:postgres:%2F%2Fdb:5432/public.clean@run-{rid}"
        assert [(f["name"], f["type"]) for f in sdk.get(output).properties["schema"]] == [("id", "INT")]
        upstream = sdk.provenance(output).ids()
        assert "codecommit:git/github.com/acme/dags@0123456789abcdef0123456789abcdef01234567" in upstream
        assert "dataset:postgres:%2F%2Fdb:5432/public.raw@observed" in upstream
        assert (
            "dataset:postgres:%2F%2Fdb:5432/public.ref@observed"
            in sdk.provenance("dataset:postgres:%2F%2Fdb:5432/public.derived@observed").ids()
        )


def test_real_client_is_refused_without_a_writer_token(served: Served) -> None:
    import requests

    event = run_event("refused", run_id(7), "START", 0)
    for token in (None, make_token(served.store, "dashboards", "reader"), "lin_not-a-token"):
        with pytest.raises(requests.HTTPError) as caught:
            ol_client(served, token).transport.emit(event)
        assert caught.value.response.status_code in (401, 403)
    with Client(served.url, token=served.token) as sdk, pytest.raises(NotFoundError):
        sdk.get(f"run:pipelines/refused@{run_id(7)}")


def test_validation_error_is_400_with_the_field(served: Served) -> None:
    response = httpx.post(
        f"{served.url}{PATH}",
        json={"eventType": "START", "producer": "p"},
        headers={"Authorization": f"Bearer {served.token}"},
    )
    assert response.status_code == 400
    assert "eventTime: field required" in response.json()["errors"][0]["message"]


def test_fixture_events_through_the_real_transport(served: Served, shared_fixtures: Path, tmp_path: Path) -> None:
    events = fixture_events(shared_fixtures)
    transport = ol_client(served, served.token, compression=None).transport
    for event in events:
        assert transport.emit(event).status_code == 201
    with open_store(f"sqlite:///{tmp_path / 'direct.db'}") as direct:
        OpenLineageIngester(direct, principal="p").ingest_many(events)
        expected_nodes, expected_edges = snapshot(direct)
    with open_store(served.store) as st:
        nodes, edges = snapshot(st)
    assert set(expected_nodes) <= set(nodes)
    assert expected_edges <= edges


def test_writer_limited_to_namespaces_sends_only_its_jobs(served: Served) -> None:
    import requests

    limited = _limited_token(served)
    transport = ol_client(served, limited).transport
    assert transport.emit(run_event("allowed", run_id(8), "START", 0, namespace="team-a")).status_code == 201
    with pytest.raises(requests.HTTPError) as caught:
        transport.emit(run_event("elsewhere", run_id(9), "START", 0, namespace="team-b"))
    assert caught.value.response.status_code == 403
    assert "team-b" in caught.value.response.json()["errors"][0]["message"]


def _limited_token(served: Served) -> str:
    from lineage_server import run_cli

    made = run_cli(
        "token", "create", "team-a-only", "--role", "writer", "--namespace", "team-a", "--store", served.store
    )
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def test_client_configured_only_by_environment(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """What Airflow and other integrations do: OPENLINEAGE_URL and OPENLINEAGE_API_KEY, nothing else."""
    from openlineage.client import OpenLineageClient
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState

    for key in [k for k in os.environ if k.startswith("OPENLINEAGE")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("OPENLINEAGE_URL", served.url)
    monkeypatch.setenv("OPENLINEAGE_API_KEY", served.token)
    rid = str(uuid.uuid4())
    OpenLineageClient().emit(
        RunEvent(
            eventType=RunState.START,
            eventTime=datetime.now(UTC).isoformat(),
            run=Run(runId=rid),
            job=Job(namespace="env", name="configured"),
            producer="https://example.com/env",
        )
    )
    with Client(served.url, token=served.token) as sdk:
        assert sdk.get(f"run:env/configured@{rid}").status == "START"
