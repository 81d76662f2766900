"""Validation of incoming OpenLineage events: what is required, and errors that name the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ol_support import run_event, run_id

from lineage.errors import ValidationError
from lineage.ingest.openlineage_events import DatasetEvent, EventType, JobEvent, RunEvent, parse_event


def test_run_event_parses_with_unknown_fields_and_custom_facets() -> None:
    raw = run_event("etl", run_id(1), "START", 0, run_facets={"custom_thing": {"x": 1}})
    raw["extraTopLevel"] = {"kept": True}
    event = parse_event(raw)
    assert isinstance(event, RunEvent)
    assert event.eventType is EventType.START
    assert event.run.facets["custom_thing"] == {"x": 1}
    assert event.eventTime.utcoffset() is not None


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda e: e.pop("eventTime"), "eventTime: field required"),
        (lambda e: e.pop("producer"), "producer: field required"),
        (lambda e: e["run"].pop("runId"), "run.runId: field required"),
        (lambda e: e["job"].pop("name"), "job.name: field required"),
        (lambda e: e.update(eventTime="yesterday"), "eventTime"),
        (lambda e: e.update(eventType="FINISHED"), "eventType"),
        (lambda e: e.update(outputs=[{"namespace": "pg"}]), "outputs[0].name: field required"),
        (lambda e: e.update(inputs=[{"name": "t"}]), "inputs[0].namespace: field required"),
        (lambda e: e["job"].update(namespace=""), "job.namespace"),
    ],
)
def test_invalid_run_events_name_the_field(mutate: object, field: str) -> None:
    raw = run_event("etl", run_id(1), "START", 0, outputs=[{"namespace": "pg", "name": "t"}])
    mutate(raw)  # type: ignore[operator]
    with pytest.raises(ValidationError) as caught:
        parse_event(raw)
    assert field in caught.value.message


def test_missing_event_type_means_other_and_case_is_ignored() -> None:
    raw = run_event("etl", run_id(1), "complete", 0)
    assert parse_event(raw).eventType is EventType.COMPLETE  # type: ignore[union-attr]
    raw.pop("eventType")
    assert parse_event(raw).eventType is EventType.OTHER  # type: ignore[union-attr]


def test_dataset_and_job_events_are_recognised_by_shape_and_schema_url() -> None:
    dataset = {"eventTime": "2026-03-01T00:00:00Z", "producer": "p", "dataset": {"namespace": "pg", "name": "t"}}
    assert isinstance(parse_event(dataset), DatasetEvent)
    job = {
        "eventTime": "2026-03-01T00:00:00Z",
        "producer": "p",
        "job": {"namespace": "a", "name": "b"},
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
    }
    assert isinstance(parse_event(job), JobEvent)
    with pytest.raises(ValidationError, match="not an OpenLineage event"):
        parse_event({"eventTime": "2026-03-01T00:00:00Z", "producer": "p"})
    with pytest.raises(ValidationError, match="JSON object"):
        parse_event([1, 2])


def test_partial_spark_events_are_refused_naming_what_is_missing(shared_fixtures: Path) -> None:
    files = sorted((shared_fixtures / "openlineage" / "spark").glob("*.json"))
    assert files
    for path in files:
        with pytest.raises(ValidationError) as caught:
            parse_event(json.loads(path.read_text()), where=path.name)
        message = caught.value.message
        assert message.startswith(path.name) and "field required" in message
        assert "eventTime" in message and "run" in message


def test_every_complete_fixture_event_validates(shared_fixtures: Path) -> None:
    from ol_support import fixture_events

    events = fixture_events(shared_fixtures)
    assert len(events) == 26 + 2 + 22
    assert all(isinstance(parse_event(e), RunEvent) for e in events)
