"""Policies as code: a small YAML file of rules that ``lineage check`` runs as a CI gate.

The file format (documented in the README, example in ``examples/policy.yaml``)::

    version: 1
    production_environments: [prod]        # optional; default prod, production, live
    rules:
      - id: prod-provenance                # optional; default <type>-<position>
        type: require-provenance           # production deployments trace to commits and pinned data
        commits: 1                         # at least this many code commits upstream (default 1)
        datasets: 1                        # at least this many datasets upstream (default 1)
      - id: no-pii-in-prod
        type: forbid-flow                  # the classification (or a narrower one) must not reach
        classification: pii                # deployments in these environments without an approval
        environments: [prod]
      - type: require-owner
        kinds: [Model, Deployment]
      - type: max-staleness
        days: 30                           # upstream datasets of a deployment at most 30 days old
        severity: warning                  # warnings are printed but do not fail the check

A file that does not parse or does not validate raises :class:`PolicyFileError` naming the line
and the problem (exit code 2). Evaluation is in :mod:`lineage.governance.policy_rules`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from lineage.analysis.state import GraphState, iso
from lineage.errors import LimitExceededError, ValidationError
from lineage.governance.labels import check_classification
from lineage.model import NodeKind
from lineage.model.documents import compose_yaml, construct_yaml

DEFAULT_POLICY_FILE = "lineage-policy.yaml"
#: Longest policy text accepted (a real policy is a few kilobytes).
MAX_POLICY_CHARS = 256 * 1024
#: Most YAML values a policy may hold once its aliases are expanded.
MAX_POLICY_NODES = 20_000
DEFAULT_PRODUCTION = ("prod", "production", "live")
FLOATING_VERSIONS = ("latest", "current", "head", "main", "master", "dev", "unversioned", "*")

#: What ``lineage check`` runs when no policy file is given or found.
BASELINE_POLICY = """\
version: 1
rules:
  - id: production-provenance
    type: require-provenance
    description: Production deployments trace to at least one code commit and to pinned datasets.
  - id: owned-models-and-deployments
    type: require-owner
    kinds: [Model, Deployment]
    description: Every model version and deployment names an owner to notify.
"""


class PolicyFileError(ValidationError):
    """The policy file does not parse or does not validate; the message names the line."""


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = Field(default=None, min_length=1, max_length=100, description="Name used in output.")
    description: str | None = None
    severity: Literal["error", "warning"] = "error"


class _EnvRule(_Rule):
    environments: list[str] | None = Field(
        default=None,
        min_length=1,
        description="Deployment environments the rule applies to; default: the production ones; '*': all.",
    )


class RequireProvenance(_EnvRule):
    type: Literal["require-provenance"]
    commits: int = Field(default=1, ge=0, description="Minimum number of code commits upstream.")
    datasets: int = Field(default=1, ge=0, description="Minimum number of datasets upstream.")
    floating_versions: list[str] = Field(
        default_factory=lambda: list(FLOATING_VERSIONS),
        description="Dataset versions that are aliases, not pinned versions.",
    )


class ForbidFlow(_EnvRule):
    type: Literal["forbid-flow"]
    classification: str
    approvals: bool = Field(default=True, description="Whether a recorded approval waives the rule.")

    @field_validator("classification")
    @classmethod
    def _name(cls, value: str) -> str:
        try:
            return check_classification(value)
        except ValidationError as exc:
            raise ValueError(exc.message) from None


class RequireOwner(_Rule):
    type: Literal["require-owner"]
    kinds: list[NodeKind] = Field(min_length=1)
    namespaces: list[str] = Field(default_factory=list)

    @field_validator("kinds", mode="before")
    @classmethod
    def _kinds(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [NodeKind.parse(v) if isinstance(v, str) else v for v in value]
        return value


class MaxStaleness(_EnvRule):
    type: Literal["max-staleness"]
    days: float = Field(gt=0)
    kinds: list[NodeKind] = Field(default_factory=lambda: [NodeKind.DATASET], min_length=1)
    depth: int | None = Field(default=None, ge=1, description="Only look this many hops upstream.")
    relative_to: Literal["check", "deployment"] = Field(
        default="check", description="Age at the time of the check, or at the deployment's event time."
    )
    missing_event_time: Literal["violation", "ignore"] = "violation"

    @field_validator("kinds", mode="before")
    @classmethod
    def _kinds(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [NodeKind.parse(v) if isinstance(v, str) else v for v in value]
        return value


Rule = Annotated[RequireProvenance | ForbidFlow | RequireOwner | MaxStaleness, Field(discriminator="type")]
RULE_TYPES = ("require-provenance", "forbid-flow", "require-owner", "max-staleness")


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    production_environments: list[str] = Field(default_factory=lambda: list(DEFAULT_PRODUCTION), min_length=1)
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Policy:
        seen: set[str] = set()
        for rid in self.rule_ids():
            if rid in seen:
                raise ValueError(f"two rules are named {rid!r}; rule ids must be unique")
            seen.add(rid)
        return self

    def rule_ids(self) -> list[str]:
        return [r.id or f"{r.type}-{i + 1}" for i, r in enumerate(self.rules)]

    def environments(self, rule: _EnvRule) -> set[str] | None:
        """Lower-cased environments a rule applies to; None means every environment."""
        envs = rule.environments or self.production_environments
        return None if "*" in envs else {e.lower() for e in envs}


# -- loading with line numbers -------------------------------------------------------------------


def load_policy(path: Path | None = None, *, text: str | None = None, name: str | None = None) -> Policy:
    """Parse and validate a policy file (or text); PolicyFileError names the line and the problem."""
    label = name or (str(path) if path is not None else "policy")
    if text is None:
        if path is None:
            raise PolicyFileError("no policy file given")
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise PolicyFileError(f"no such policy file: {path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyFileError(f"cannot read policy file {path}: {exc}") from None
    if len(text) > MAX_POLICY_CHARS:
        raise LimitExceededError(
            f"{label}: the policy is {len(text)} characters long; the limit is {MAX_POLICY_CHARS}",
            details={"limit": MAX_POLICY_CHARS},
        )
    try:
        root = compose_yaml(text, max_nodes=MAX_POLICY_NODES)
        data = construct_yaml(root)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        line = mark.line + 1 if mark else None
        raise PolicyFileError(f"{label}{where}: not valid YAML: {problem}", details={"line": line}) from None
    if root is None or data is None:
        raise PolicyFileError(
            f"{label}, line 1: the policy file is empty; it needs a 'rules' list", details={"line": 1}
        )
    _duplicate_keys(root, label)
    if not isinstance(data, dict):
        raise PolicyFileError(f"{label}, line {root.start_mark.line + 1}: a policy is a mapping with a 'rules' list")
    try:
        return Policy.model_validate(data)
    except PydanticValidationError as exc:
        problems = []
        lines = []
        for error in exc.errors()[:10]:
            loc_parts = tuple(error["loc"])
            msg = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
                tag = (error.get("ctx") or {}).get("tag")
                msg = f"unknown rule type {tag!r}" if tag else "a rule needs a 'type'"
                msg += f"; expected one of {', '.join(RULE_TYPES)}"
                loc_parts = (*loc_parts, "type")
            line = _line_of(root, loc_parts)
            lines.append(line)
            loc = _loc_text(loc_parts)
            problems.append(f"{label}, line {line}: {loc}: {msg}" if loc else f"{label}, line {line}: {msg}")
        raise PolicyFileError("; ".join(problems), details={"lines": lines}) from None


def _duplicate_keys(node: yaml.Node, label: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    raise PolicyFileError(
                        f"{label}, line {key.start_mark.line + 1}: key {key.value!r} appears twice in one mapping",
                        details={"line": key.start_mark.line + 1},
                    )
                seen.add(key.value)
            _duplicate_keys(value, label)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _duplicate_keys(item, label)


def _line_of(root: yaml.Node, loc: tuple[int | str, ...]) -> int:
    """The line of the deepest YAML node the error location names (1-based)."""
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == part:
                    node = value
                    break
            # a part that names no key (a union tag, a missing field) keeps the enclosing node
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
    return int(node.start_mark.line) + 1


def _loc_text(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in RULE_TYPES:
            out += f" ({part})"
        else:
            out += f".{part}" if out else part
    return out


# -- results -------------------------------------------------------------------------------------


class Violation(BaseModel):
    """One broken rule on one node, with the lines that explain it."""

    model_config = ConfigDict(frozen=True)

    rule: str
    type: str
    severity: Literal["error", "warning"]
    node: str
    message: str
    explanation: list[str] = Field(default_factory=list)
    hint: str | None = None


class Waiver(BaseModel):
    """A violation that a recorded approval waives: who approved, when, and why."""

    model_config = ConfigDict(frozen=True)

    rule: str
    node: str
    approval: str
    approved_by: str
    approved_at: str
    reason: str | None = None
    audit_seq: int | None = None


class RuleOutcome(BaseModel):
    rule: str
    type: str
    severity: Literal["error", "warning"]
    description: str | None = None
    checked: int = 0
    violations: list[Violation] = Field(default_factory=list)
    waived: list[Waiver] = Field(default_factory=list)


class PolicyReport(BaseModel):
    """Everything one ``lineage check`` found. ``ok`` is False when any error-severity rule broke."""

    policy: str
    target: str | None
    as_of: str
    checked_at: str
    audit_head: dict[str, Any]
    outcomes: list[RuleOutcome]
    elapsed_ms: float = 0.0

    @property
    def violations(self) -> list[Violation]:
        return [v for o in self.outcomes for v in o.violations if v.severity == "error"]

    @property
    def warnings(self) -> list[Violation]:
        return [v for o in self.outcomes for v in o.violations if v.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        out = self.model_dump(mode="json")
        out["ok"] = self.ok
        out["summary"] = {
            "rules": len(self.outcomes),
            "violations": len(self.violations),
            "warnings": len(self.warnings),
            "waived": sum(len(o.waived) for o in self.outcomes),
        }
        return out


def new_report(policy_name: str, target: str | None, state: GraphState, checked_at: datetime) -> PolicyReport:
    return PolicyReport(
        policy=policy_name,
        target=target,
        as_of=iso(state.as_of),
        checked_at=iso(checked_at),
        audit_head=state.to_dict()["audit_head"],
        outcomes=[],
    )
