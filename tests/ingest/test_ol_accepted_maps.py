"""An event the OpenLineage endpoint accepts is one that can be mapped: the ids and owners the
mapping takes from facets (a parent run, a source commit, a dataset version, column-lineage inputs,
owners) are checked with the event, so a server answering once landed (202) never accepts an event
it will then fail to map, and both modes refuse the same events, naming the field."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ol_support import ds, run_event, run_id

from lineage.errors import ValidationError
from lineage.ingest.openlineage import OpenLineageIngester, Outcome
from lineage.ingest.openlineage_events import parse_event
from lineage.storage import open_store

_P = {"_producer": "p", "_schemaURL": "https://x"}

# Identifier text: ordinary, empty, blank, control characters, too long, escapes, unicode.
_TEXT = st.one_of(
    st.sampled_from(["ok", "a/b", "a@b", "%2F", "é", " x ", "", " ", "\t", "x\u0000y", "a\nb", "\x7f", "a" * 600]),
    st.text(min_size=0, max_size=12),
)


def _event(parent: tuple[str, str, str], commit: tuple[str, str], version: str, column: tuple[str, str],
           owner: str) -> dict[str, Any]:
    ns, name, rid = parent
    repo, sha = commit
    out = ds("wh", "out")
    out["facets"] = {
        "version": {**_P, "datasetVersion": version},
        "columnLineage": {**_P, "fields": {"c": {"inputFields": [
            {"namespace": column[0], "name": column[1], "field": "x"}]}}},
        "ownership": {**_P, "owners": [{"name": owner}]},
    }
    return run_event(
        "job", run_id(1), "COMPLETE", 5, inputs=[ds("wh", "in")], outputs=[out],
        run_facets={"parent": {**_P, "run": {"runId": rid}, "job": {"namespace": ns, "name": name}}},
        job_facets={"sourceCodeLocation": {**_P, "type": "git", "url": f"https://github.com/acme/{repo}",
                                           "version": sha}},
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parent=st.tuples(_TEXT, _TEXT, _TEXT), commit=st.tuples(_TEXT, _TEXT), version=_TEXT,
       column=st.tuples(_TEXT, _TEXT), owner=_TEXT)
def test_an_event_that_validates_can_be_mapped(
    tmp_path: Path, parent: tuple[str, str, str], commit: tuple[str, str], version: str,
    column: tuple[str, str], owner: str,
) -> None:
    event = _event(parent, commit, version, column, owner)
    try:
        parse_event(event)
    except ValidationError as exc:
        assert "invalid OpenLineage RunEvent" in exc.message  # refused up front, naming the field
        return
    with open_store(f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}") as store:
        [result] = OpenLineageIngester(store, principal="p").ingest_many([event])
        assert isinstance(result, Outcome), result


@pytest.mark.parametrize(
    ("where", "change"),
    [
        ("run.facets.parent.job.name", lambda e: e["run"]["facets"]["parent"]["job"].update(name="a\u0000")),
        ("run.facets.parent.job.namespace", lambda e: e["run"]["facets"]["parent"]["job"].update(namespace="n" * 600)),
        ("run.facets.parent.run.runId", lambda e: e["run"]["facets"]["parent"]["run"].update(runId="r\nr")),
        ("job.facets.sourceCodeLocation.version", lambda e: e["job"]["facets"]["sourceCodeLocation"].update(
            version="a\u0001b")),
        ("outputs[0].facets.version", lambda e: e["outputs"][0]["facets"]["version"].update(datasetVersion="v" * 600)),
        ("outputs[0].facets.columnLineage", lambda e: e["outputs"][0]["facets"]["columnLineage"]["fields"]["c"]
         ["inputFields"][0].update(namespace="a\u0002")),
        ("outputs[0].facets.ownership", lambda e: e["outputs"][0]["facets"]["ownership"].update(
            owners=[{"name": "team\u0003x"}])),
    ],
)
def test_a_bad_id_in_a_facet_is_refused_naming_the_field_and_nothing_is_kept(
    tmp_path: Path, where: str, change: Any
) -> None:
    event = _event(("pipelines", "parent-job", run_id(9)), ("ml", "abc123"), "v1", ("wh", "src"), "team-a")
    parse_event(event)  # the unchanged event is fine
    change(event)
    with pytest.raises(ValidationError) as refused:
        parse_event(event)
    assert where in refused.value.message
    with open_store(f"sqlite:///{tmp_path / 'kept.db'}") as store:
        with pytest.raises(ValidationError):
            OpenLineageIngester(store, principal="p").ingest(event)
        assert store.counts()["raw_events"] == 0 and store.counts()["nodes"] == 0
