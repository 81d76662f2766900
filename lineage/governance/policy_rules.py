"""Evaluating a policy over the graph as of a time: one function per rule type, shared context.

The work is shared between rules: the deployments in scope are listed once, their upstream is walked
once (one multi-start, level-by-level walk) and each classification's reach is computed once, so a
check costs about one traversal of the part of the graph that feeds the deployments.

Scope: without a target every node is in scope. With ``--target ID`` the scope is the target and
everything downstream of it, the part of the graph a change to the target can affect; rules about
deployments look at the deployments in it, ``require-owner`` at the nodes in it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from itertools import pairwise

import networkx as nx

from lineage.analysis.budget import WorkBudget
from lineage.analysis.state import graph_state, iso
from lineage.analysis.subgraph import walk
from lineage.governance.approvals import approvals_of
from lineage.governance.classifications import (
    ClassificationReach,
    Effective,
    classification_reach,
    effective_classifications,
)
from lineage.governance.labels import covers
from lineage.governance.policy import (
    ForbidFlow,
    MaxStaleness,
    Policy,
    PolicyReport,
    RequireOwner,
    RequireProvenance,
    RuleOutcome,
    Violation,
    Waiver,
    new_report,
)
from lineage.model import NodeKind, NodeRecord
from lineage.model.ids import parse_node_id
from lineage.storage.base import Direction, GraphStore, NodeFilter

MAX_LINES = 20
#: Up to this many deployments in a targeted check, forbid-flow walks each one's upstream instead
#: of propagating the classification over the whole graph.
FEW = 20


def environment_of(node: NodeRecord) -> str:
    """A deployment's environment: its ``environment`` property, else its namespace (lower case)."""
    return str(node.properties.get("environment") or node.namespace).lower()


@dataclass
class _Context:
    store: GraphStore
    policy: Policy
    as_of: datetime
    checked_at: datetime
    target: str | None
    budget: WorkBudget | None = None
    _reach: dict[str, ClassificationReach] = field(default_factory=dict)
    _records: dict[str, NodeRecord] = field(default_factory=dict)

    @cached_property
    def scope(self) -> set[str] | None:
        if self.target is None:
            return None
        return set(walk(self.store, [self.target], Direction.DOWNSTREAM, as_of=self.as_of, budget=self.budget).kinds)

    @cached_property
    def deployments(self) -> list[NodeRecord]:
        if self.scope is not None:
            ids = sorted(n for n in self.scope if self.store.kind_of(n) is NodeKind.DEPLOYMENT)
            found = self.store.get_nodes(ids, self.as_of)
            return [found[i] for i in ids if i in found]
        out: list[NodeRecord] = []
        after: str | None = None
        while True:
            page = self.store.list_nodes(NodeFilter(kinds=(NodeKind.DEPLOYMENT,)), after, 1000, self.as_of)
            out.extend(page)
            if len(page) < 1000:
                return out
            after = page[-1].id

    @cached_property
    def upstream(self) -> nx.DiGraph:
        """The upstream of every deployment in scope, cause -> effect."""
        ids = [d.id for d in self.deployments]
        return walk(
            self.store, ids, Direction.UPSTREAM, as_of=self.as_of, check_starts=False, budget=self.budget
        ).digraph()

    def records_of(self, ids: list[str]) -> dict[str, NodeRecord]:
        """Records of upstream nodes, fetched once each and only when a rule needs their fields."""
        missing = [i for i in ids if i not in self._records]
        if missing:
            self._records.update(self.store.get_nodes(missing, self.as_of))
        return self._records

    def applies(self, rule: RequireProvenance | ForbidFlow | MaxStaleness) -> list[NodeRecord]:
        envs = self.policy.environments(rule)
        return [d for d in self.deployments if envs is None or environment_of(d) in envs]

    def reach(self, classification: str) -> ClassificationReach:
        if classification not in self._reach:
            self._reach[classification] = classification_reach(
                self.store, classification, as_of=self.as_of, budget=self.budget
            )
        return self._reach[classification]

    def path_text(self, source: str, target: str) -> str:
        path: list[str] = nx.shortest_path(self.upstream, source, target)
        out = path[0]
        for u, v in pairwise(path):
            out += f" -{self.upstream.edges[u, v]['type'].value}-> {v}"
        return out


def check_policy(
    store: GraphStore,
    policy: Policy,
    *,
    policy_name: str = "policy",
    target: str | None = None,
    as_of: datetime | None = None,
    now: datetime | None = None,
    budget: WorkBudget | None = None,
) -> PolicyReport:
    """Run every rule; the report lists violations (with explanations) and waivers per rule.

    The graph is read as of ``as_of`` (default: the audit head). Ages are measured at ``as_of`` when
    given, else at ``now`` (default: the current time). Raises NotFoundError for an unknown target.
    """
    started = time.perf_counter()
    state = graph_state(store, as_of)
    if target is not None:
        store.get_node(target, state.as_of)
    checked_at = as_of or now or datetime.now(UTC)
    ctx = _Context(store, policy, state.as_of, checked_at, target, budget)
    report = new_report(policy_name, target, state, checked_at)
    evaluators: dict[type, Callable[[_Context, object, RuleOutcome], None]] = {
        RequireProvenance: _require_provenance,  # type: ignore[dict-item]
        ForbidFlow: _forbid_flow,  # type: ignore[dict-item]
        RequireOwner: _require_owner,  # type: ignore[dict-item]
        MaxStaleness: _max_staleness,  # type: ignore[dict-item]
    }
    for rule, rule_id in zip(policy.rules, policy.rule_ids(), strict=True):
        outcome = RuleOutcome(rule=rule_id, type=rule.type, severity=rule.severity, description=rule.description)
        evaluators[type(rule)](ctx, rule, outcome)
        report.outcomes.append(outcome)
    report.elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    return report


def _violation(outcome: RuleOutcome, node: str, message: str, lines: list[str], hint: str | None = None) -> None:
    shown = lines[:MAX_LINES]
    if len(lines) > MAX_LINES:
        shown.append(f"... and {len(lines) - MAX_LINES} more")
    outcome.violations.append(
        Violation(
            rule=outcome.rule,
            type=outcome.type,
            severity=outcome.severity,
            node=node,
            message=message,
            explanation=shown,
            hint=hint,
        )
    )


def _require_provenance(ctx: _Context, rule: RequireProvenance, outcome: RuleOutcome) -> None:
    floating = {v.lower() for v in rule.floating_versions}
    for dep in ctx.applies(rule):
        outcome.checked += 1
        ancestors = sorted(nx.ancestors(ctx.upstream, dep.id))
        commits = [a for a in ancestors if ctx.upstream.nodes[a]["kind"] is NodeKind.CODE_COMMIT]
        datasets = [a for a in ancestors if ctx.upstream.nodes[a]["kind"] is NodeKind.DATASET]
        models = [a for a in ctx.upstream.predecessors(dep.id) if ctx.upstream.nodes[a]["kind"] is NodeKind.MODEL]
        context = [f"serves {', '.join(sorted(models)) or 'no recorded model'}",
                   f"upstream: {len(ancestors)} nodes, {len(commits)} code commits, {len(datasets)} datasets"]
        if len(commits) < rule.commits:
            _violation(
                outcome,
                dep.id,
                f"{dep.id} traces to {len(commits)} code commit(s); at least {rule.commits} required",
                context,
                "register the training run with the commit it ran at (CodeCommit -EXECUTED_IN-> Run)",
            )
        if len(datasets) < rule.datasets:
            _violation(
                outcome,
                dep.id,
                f"{dep.id} traces to {len(datasets)} dataset(s); at least {rule.datasets} required",
                context,
                "register the datasets the model was trained on (Dataset -INPUT_TO-> Run)",
            )
        versions = {d: parse_node_id(d).version or "" for d in datasets}
        unpinned = [d for d in datasets if versions[d].lower() in floating]
        if unpinned:
            _violation(
                outcome,
                dep.id,
                f"{dep.id} traces to {len(unpinned)} dataset(s) without a pinned version "
                f"({', '.join(sorted({versions[d] for d in unpinned}))})",
                [ctx.path_text(d, dep.id) for d in unpinned],
                "register datasets with a content hash, snapshot id or producing run as version",
            )


def _arrivals(ctx: _Context, classification: str, deployments: list[NodeRecord]) -> dict[str, list[Effective]]:
    """Deployment -> how the classification (or a narrower one) reaches it.

    A few deployments (a targeted check) are answered from their own upstream; many from one
    downstream propagation over the whole graph, computed once per classification.
    """
    if ctx.scope is not None and len(deployments) <= FEW:
        out: dict[str, list[Effective]] = {}
        for dep in deployments:
            found = effective_classifications(ctx.store, dep.id, as_of=ctx.as_of)
            via = [e for e in found.effective if covers(classification, e.classification)]
            if via:
                out[dep.id] = via
        return out
    return {r.node.id: list(r.via) for r in ctx.reach(classification).nodes}


def _forbid_flow(ctx: _Context, rule: ForbidFlow, outcome: RuleOutcome) -> None:
    deployments = ctx.applies(rule)
    reached = _arrivals(ctx, rule.classification, deployments)
    for dep in deployments:
        outcome.checked += 1
        via = reached.get(dep.id)
        if via is None:
            continue
        labels = sorted({e.classification for e in via})
        approvals = approvals_of(ctx.store, dep.id, ctx.as_of) if rule.approvals else []
        waived_by = {}
        for label in labels:
            match = next((a for a in approvals if a.allows(label)), None)
            if match is not None:
                waived_by[label] = match
        if len(waived_by) == len(labels):
            for approval in {a.value: a for a in waived_by.values()}.values():
                outcome.waived.append(
                    Waiver(
                        rule=outcome.rule,
                        node=dep.id,
                        approval=approval.value,
                        approved_by=approval.approved_by,
                        approved_at=iso(approval.approved_at),
                        reason=approval.reason,
                        audit_seq=approval.audit_seq,
                    )
                )
            continue
        open_labels = [label for label in labels if label not in waived_by]
        env = environment_of(dep)
        _violation(
            outcome,
            dep.id,
            f"{', '.join(open_labels)} reaches {dep.id} (environment {env}) without an approval",
            [e.text() for e in via if e.classification in open_labels],
            f"approve with: lineage approve {dep.id} --classification {rule.classification} --reason TEXT"
            if rule.approvals
            else None,
        )


def _require_owner(ctx: _Context, rule: RequireOwner, outcome: RuleOutcome) -> None:
    if ctx.scope is None:
        candidates = _list(ctx.store, rule.kinds, ctx.as_of, rule.namespaces)
    else:
        found = ctx.store.get_nodes(sorted(ctx.scope), ctx.as_of)
        candidates = [
            n
            for n in found.values()
            if n.kind in rule.kinds and (not rule.namespaces or n.namespace in rule.namespaces)
        ]
    outcome.checked += len(candidates)
    for node in sorted((n for n in candidates if not n.owners), key=lambda n: n.id):
        _violation(
            outcome,
            node.id,
            f"{node.id} ({node.kind.value}) has no owner",
            [],
            f"lineage owners add {node.id} OWNER",
        )


def _list(store: GraphStore, kinds: list[NodeKind], as_of: datetime, namespaces: list[str]) -> list[NodeRecord]:
    out: list[NodeRecord] = []
    spaces: list[str | None] = [*namespaces] or [None]
    for ns in spaces:
        after: str | None = None
        while True:
            page = store.list_nodes(NodeFilter(kinds=tuple(kinds), namespace=ns), after, 1000, as_of)
            out.extend(page)
            if len(page) < 1000:
                break
            after = page[-1].id
    return out


def _max_staleness(ctx: _Context, rule: MaxStaleness, outcome: RuleOutcome) -> None:
    reverse = ctx.upstream.reverse(copy=False)
    kinds = set(rule.kinds)
    for dep in ctx.applies(rule):
        outcome.checked += 1
        by_deployment = rule.relative_to == "deployment"
        reference = (dep.event_time or dep.recorded_at) if by_deployment else ctx.checked_at
        hops = nx.single_source_shortest_path_length(reverse, dep.id, cutoff=rule.depth)
        candidates = sorted(n for n in hops if n != dep.id and ctx.upstream.nodes[n]["kind"] in kinds)
        records = ctx.records_of(candidates)
        stale: list[tuple[float, str]] = []
        unknown: list[str] = []
        for node_id in candidates:
            event_time = records[node_id].event_time
            if event_time is None:
                unknown.append(node_id)
                continue
            age = (reference - event_time).total_seconds() / 86_400
            if age > rule.days:
                stale.append((age, node_id))
        stale.sort(key=lambda s: (-s[0], s[1]))
        when = f"at the deployment's time {iso(reference)}" if by_deployment else f"at {iso(reference)}"
        if stale:
            oldest_age, oldest = stale[0]
            _violation(
                outcome,
                dep.id,
                f"{len(stale)} upstream {'/'.join(k.value for k in rule.kinds)} node(s) of {dep.id} are older "
                f"than {rule.days:g} days {when}; oldest {oldest} ({oldest_age:.1f} days)",
                [
                    f"{node} is {age:.1f} days old (event time {iso(records[node].event_time)}): "  # type: ignore[arg-type]
                    f"{ctx.path_text(node, dep.id)}"
                    for age, node in stale
                ],
                "retrain on fresh data, or raise 'days' in the policy",
            )
        if unknown and rule.missing_event_time == "violation":
            _violation(
                outcome,
                dep.id,
                f"{len(unknown)} upstream node(s) of {dep.id} have no event time, so their age is unknown",
                [ctx.path_text(node, dep.id) for node in unknown],
                "register event_time for datasets, or set missing_event_time: ignore",
            )
