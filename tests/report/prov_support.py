"""Check a PROV-JSON document the project wrote with the ``prov`` library (W3C PROV reference tooling).

``load_checked`` parses the text with every warning turned into an error (``prov`` warns, then drops,
references it cannot resolve), serialises it back, parses that again, and checks that the round trip
kept every record and every attribute. ``expected_counts`` derives, from the provenance answer itself,
how many records of each PROV type the document must hold.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from datetime import datetime
from typing import Any

from prov.model import ProvDocument

from lineage.model import EdgeType, NodeKind
from lineage.report.data import Report


def _normal(value: Any) -> Any:
    """One spelling per value: PROV-JSON writes the same value in several equivalent ways
    (``prov:QUALIFIED_NAME`` or ``xsd:QName``; ``Z`` or ``+00:00``; ``1`` or ``{"$": "1", "type": "xsd:int"}``).
    """
    if isinstance(value, dict):
        kind = value.get("type")
        if kind == "xsd:dateTime":
            return ("dateTime", datetime.fromisoformat(value["$"]))
        if kind in ("xsd:int", "xsd:long", "xsd:integer"):
            return int(value["$"])
        out = {k: _normal(v) for k, v in value.items()}
        if kind == "prov:QUALIFIED_NAME":
            out["type"] = "xsd:QName"
        return out
    return value


def _record(body: dict[str, Any]) -> dict[str, list[Any]]:
    """A record's attributes as sorted value lists: a one-element list and a scalar are the same value."""
    return {k: sorted((_normal(x) for x in (v if isinstance(v, list) else [v])), key=repr) for k, v in body.items()}


def load_checked(text: str) -> tuple[dict[str, Any], ProvDocument]:
    """Parse with ``prov`` (no warning tolerated), round-trip, and assert nothing was dropped."""
    source = json.loads(text)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        doc = ProvDocument.deserialize(content=text, format="json")
        again_text = doc.serialize(format="json")
        again = ProvDocument.deserialize(content=again_text, format="json")
    assert again == doc
    reserialised = json.loads(again_text)
    for prefix, uri in source["prefix"].items():
        if prefix != "xsd":  # a default namespace: prov does not repeat it
            assert reserialised["prefix"][prefix] == uri
    for section, records in source.items():
        if section == "prefix":
            continue
        assert set(reserialised[section]) == set(records), section
        for rid, body in records.items():
            assert _record(reserialised[section][rid]) == _record(body), (section, rid)
    return source, doc


def expected_counts(report: Report) -> Counter[str]:
    """Records per PROV type implied by the provenance answer (nodes and edges of its subgraph)."""
    recs = report.records
    edges = list(report.subgraph.sorted_edges())
    runs = [i for i, r in recs.items() if r.kind is NodeKind.RUN]
    inputs: Counter[str] = Counter()
    outputs: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    counts["entity"] = len(recs) - len(runs) + 1  # plus the lineage:report entity
    counts["activity"] = len(runs)
    for src, etype, dst in edges:
        if etype in (EdgeType.INPUT_TO, EdgeType.EXECUTED_IN):
            counts["used"] += 1
            if etype is EdgeType.INPUT_TO:
                inputs[dst] += 1
        elif etype is EdgeType.PRODUCED:
            counts["wasGeneratedBy"] += 1
            outputs[src] += 1
        elif etype in (EdgeType.FEEDS, EdgeType.DEPLOYED_AS):
            counts["wasDerivedFrom"] += 1
        elif etype is EdgeType.PARENT_OF:
            counts["wasStartedBy"] += 1
    counts["wasDerivedFrom"] += sum(inputs[r] * outputs[r] for r in runs)
    owned = [r for r in recs.values() if r.kind is not NodeKind.RUN]
    authored = [r for r in owned if r.kind is NodeKind.CODE_COMMIT and r.properties.get("author")]
    counts["wasAttributedTo"] = sum(len(r.owners) for r in owned) + len(authored)
    counts["wasAssociatedWith"] = sum(1 + len(recs[r].owners) for r in runs)
    return counts


def document_counts(doc: ProvDocument) -> Counter[str]:
    """Records per PROV-JSON section as ``prov`` parsed them."""
    names = {
        "ProvEntity": "entity", "ProvActivity": "activity", "ProvAgent": "agent", "ProvUsage": "used",
        "ProvGeneration": "wasGeneratedBy", "ProvDerivation": "wasDerivedFrom",
        "ProvAssociation": "wasAssociatedWith", "ProvAttribution": "wasAttributedTo", "ProvStart": "wasStartedBy",
    }
    return Counter(names[type(r).__name__] for r in doc.get_records())


def check_against_report(text: str, report: Report) -> dict[str, Any]:
    """Load ``text`` with ``prov`` and check its record counts against the provenance answer."""
    source, doc = load_checked(text)
    got = document_counts(doc)
    want = expected_counts(report)
    for section, count in want.items():
        assert got[section] == count, (section, got[section], count)
    # every node reached by the provenance walk is a PROV record; every qualified reference resolves
    ids = {str(r.identifier) for r in doc.get_records() if r.identifier is not None}
    assert {f"node:{n.node.id}" for n in report.lineage.nodes} <= ids
    for rel in source.get("wasDerivedFrom", {}).values():
        for ref in ("prov:usage", "prov:generation"):
            if ref in rel:
                assert rel[ref] in ids, rel
    derived = [r for r in doc.get_records() if type(r).__name__ == "ProvDerivation"]
    with_refs = sum(1 for r in derived if any(str(k) == "prov:usage" for k, _ in r.formal_attributes if _))
    assert with_refs == sum(1 for r in source.get("wasDerivedFrom", {}).values() if "prov:usage" in r)
    return source
