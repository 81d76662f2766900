"""OpenLineage events as received: validated against the parts of the spec the mapping relies on.

The spec (https://openlineage.io/spec) has three event types: a ``RunEvent`` (a job run changed
state), a ``DatasetEvent`` (metadata about a dataset, no run) and a ``JobEvent`` (a job's
definition, no run). Unknown fields and custom facets are allowed and kept; what the mapping needs
(event time, producer, run id, job and dataset identities) is required, and a missing or wrong
value is refused with a message naming the field, e.g. ``run.runId: field required``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from lineage.errors import ValidationError
from lineage.ingest.openlineage_facets import column_inputs, dataset_version, owner_names, parent_of, source_commit
from lineage.ingest.relations import canonical_name
from lineage.model.batch import describe_errors, valid_owner
from lineage.model.documents import check_document
from lineage.model.ids import check_part

SPEC_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json"


class EventType(StrEnum):
    START = "START"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    FAIL = "FAIL"
    ABORT = "ABORT"
    OTHER = "OTHER"

    @property
    def terminal(self) -> bool:
        return self in (EventType.COMPLETE, EventType.FAIL, EventType.ABORT)


Facets = dict[str, Any]


def _facets(value: Any) -> Facets:
    """Facets as a name -> object map; null means none. Non-object facets are dropped."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("facets must be an object keyed by facet name")
    return {str(k): v for k, v in value.items() if isinstance(v, dict)}


def _part(value: str, label: str) -> str:
    return check_part(label, value)


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, str_strip_whitespace=False)


class DatasetRef(_Model):
    """An input, output or static dataset: identified by namespace and name.

    The name is canonical (:func:`lineage.ingest.relations.canonical_name`): ``"analytics"."orders"``
    and ``analytics.orders`` are one relation, so one dataset.
    """

    namespace: str
    name: str
    facets: Facets = Field(default_factory=dict)
    inputFacets: Facets = Field(default_factory=dict)
    outputFacets: Facets = Field(default_factory=dict)

    @field_validator("namespace", "name")
    @classmethod
    def _ident(cls, value: str, info: Any) -> str:
        checked = _part(value, info.field_name)
        return canonical_name(checked) if info.field_name == "name" else checked

    @field_validator("facets", "inputFacets", "outputFacets", mode="before")
    @classmethod
    def _f(cls, value: Any) -> Facets:
        return _facets(value)


class JobRef(_Model):
    namespace: str
    name: str
    facets: Facets = Field(default_factory=dict)

    @field_validator("namespace", "name")
    @classmethod
    def _ident(cls, value: str, info: Any) -> str:
        return _part(value, info.field_name)

    @field_validator("facets", mode="before")
    @classmethod
    def _f(cls, value: Any) -> Facets:
        return _facets(value)


class RunRef(_Model):
    runId: str
    facets: Facets = Field(default_factory=dict)

    @field_validator("runId")
    @classmethod
    def _id(cls, value: str) -> str:
        return _part(value, "runId")

    @field_validator("facets", mode="before")
    @classmethod
    def _f(cls, value: Any) -> Facets:
        return _facets(value)


class _Event(_Model):
    eventTime: datetime
    producer: str
    schemaURL: str = SPEC_URL

    @field_validator("eventTime", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(f"{value!r} is not an ISO 8601 date-time, e.g. 2026-11-20T12:00:00Z") from None
            return parsed
        return value

    @field_validator("eventTime")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @field_validator("producer")
    @classmethod
    def _producer(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("producer must name the integration that sent the event (a URI)")
        return value


class RunEvent(_Event):
    eventType: EventType = EventType.OTHER
    run: RunRef
    job: JobRef
    inputs: list[DatasetRef] = Field(default_factory=list)
    outputs: list[DatasetRef] = Field(default_factory=list)

    @field_validator("eventType", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        if value is None:
            return EventType.OTHER
        if isinstance(value, str) and value.upper() in EventType.__members__:
            return value.upper()
        if isinstance(value, str):
            raise ValueError(f"{value!r} is not one of {', '.join(e.value for e in EventType)}")
        return value

    @field_validator("inputs", "outputs", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return [] if value is None else value


class DatasetEvent(_Event):
    dataset: DatasetRef


class JobEvent(_Event):
    job: JobRef
    inputs: list[DatasetRef] = Field(default_factory=list)
    outputs: list[DatasetRef] = Field(default_factory=list)

    @field_validator("inputs", "outputs", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return [] if value is None else value


Event = RunEvent | DatasetEvent | JobEvent


def event_kind(payload: dict[str, Any]) -> type[RunEvent] | type[DatasetEvent] | type[JobEvent]:
    """Which event type a payload claims to be: by its schemaURL, else by its shape."""
    url = str(payload.get("schemaURL") or "")
    for cls in (RunEvent, DatasetEvent, JobEvent):
        if url.endswith(f"/{cls.__name__}"):
            return cls
    if "run" in payload or "eventType" in payload:
        return RunEvent
    if "dataset" in payload:
        return DatasetEvent
    if "job" in payload:
        return JobEvent
    raise ValidationError(
        "not an OpenLineage event: expected a RunEvent (with 'run' and 'job'), a DatasetEvent "
        "(with 'dataset') or a JobEvent (with 'job')"
    )


def parse_event(payload: Any, where: str = "", *, checked: bool = False) -> Event:
    """Validate one event; raise ValidationError naming every bad field (prefixed by ``where``).

    ``checked``: the caller knows the payload passes :func:`check_document` (bounded nesting,
    no lone surrogate), so it is not walked again.
    """
    prefix = f"{where}: " if where else ""
    if not isinstance(payload, dict):
        raise ValidationError(f"{prefix}an OpenLineage event must be a JSON object, not {type(payload).__name__}")
    if not checked:
        check_document(payload, where.strip("[]") and f"event{where}")
    try:
        cls = event_kind(payload)
    except ValidationError as exc:
        raise ValidationError(prefix + exc.message) from None
    try:
        event = cls.model_validate(payload)
    except PydanticValidationError as exc:
        detail = describe_errors(exc).replace("Field required", "field required")
        raise ValidationError(
            f"{prefix}invalid OpenLineage {cls.__name__}: {detail}",
            details={"event_type": cls.__name__, "errors": _locations(exc)},
        ) from None
    problems = derived_problems(event)
    if problems:
        raise ValidationError(
            f"{prefix}invalid OpenLineage {cls.__name__}: {'; '.join(problems)}",
            details={"event_type": cls.__name__, "errors": [p.split(":")[0] for p in problems]},
        )
    return event


def derived_problems(event: Event) -> list[str]:
    """What is wrong with the node ids and owners the mapping would take from the event's facets
    (a parent run, a source commit, a dataset version, column-lineage inputs, owners), each as
    ``where: rule``. Checked before anything is kept: an event accepted is one that can be mapped."""
    problems: list[str] = []

    def part(where: str, label: str, value: str) -> None:
        try:
            check_part(label, value)
        except ValueError as exc:
            problems.append(f"{where}: {exc}")

    def owners(where: str, facets: dict[str, Any]) -> None:
        bad = [o for o in owner_names(facets) if not valid_owner(o)]
        problems.extend(f"{where}: owner {o!r} is not a valid owner name" for o in bad)

    def dataset(where: str, ref: DatasetRef) -> None:
        version = dataset_version(ref.facets)
        if version is not None:
            part(f"{where}.facets.version", "version", version)
        for ns, name in column_inputs(ref.facets):
            part(f"{where}.facets.columnLineage", "namespace", ns)
            part(f"{where}.facets.columnLineage", "name", name)
        owners(f"{where}.facets.ownership", ref.facets)

    if isinstance(event, DatasetEvent):
        dataset("dataset", event.dataset)
        return problems
    if isinstance(event, RunEvent):
        for which, key in zip(("parent", "parent.root"), parent_of(event.run.facets), strict=True):
            if key is not None:
                part(f"run.facets.{which}.job.namespace", "namespace", key.namespace)
                part(f"run.facets.{which}.job.name", "name", key.name)
                part(f"run.facets.{which}.run.runId", "runId", key.run_id)
    commit = source_commit(event.job.facets)
    if commit is not None:
        part("job.facets.sourceCodeLocation.repoUrl", "name", commit.repo.name)
        part("job.facets.sourceCodeLocation.version", "version", commit.sha)
    owners("job.facets.ownership", event.job.facets)
    for side, refs in (("inputs", event.inputs), ("outputs", event.outputs)):
        for i, ref in enumerate(refs):
            dataset(f"{side}[{i}]", ref)
    return problems


def _locations(exc: PydanticValidationError) -> list[str]:
    out = []
    for err in exc.errors()[:20]:
        loc = ""
        for part in err["loc"]:
            loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
        out.append(loc)
    return out
