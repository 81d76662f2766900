"""Node and edge ids: stable, readable, round-trip for any text, malformed ones refused."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lineage.model import ALLOWED_EDGES, EdgeType, NodeKey, NodeKind, edge_id, node_id, parse_edge_id, parse_node_id
from lineage.model.ids import check_part

# Any text a part may hold: no control characters, not blank. Hypothesis favours the characters
# with a meaning in ids when asked to, so '/', '@', '%', ':' and spaces show up often.
SPECIAL = st.sampled_from(["/", "@", "%", " ", ":", "%2F", "%40", "%25", "\u00a0", "\u2028", "-", ">", "é", "✓"])
part = (
    st.lists(st.one_of(SPECIAL, st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=5)), max_size=8)
    .map("".join)
    .filter(lambda s: bool(s.strip()) and len(s) <= 512)
)


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(list(NodeKind)), namespace=part, name=part, version=part)
def test_node_id_round_trips(kind: NodeKind, namespace: str, name: str, version: str) -> None:
    ver = version if kind.versioned else None
    text = node_id(kind, namespace, name, ver)
    key = parse_node_id(text)
    assert key == NodeKey(kind, namespace, name, ver)
    assert key.id == text
    # readable and splittable: one kind prefix, no raw whitespace, at most one '@' (before the version)
    assert text.startswith(kind.prefix + ":")
    assert not re.search(r"\s", text)
    assert text.count("@") == (1 if kind.versioned else 0)
    assert text.split(":", 1)[1].count("/") >= 1
    # stable: the same parts always give the same id
    assert node_id(kind, namespace, name, ver) == text


@settings(max_examples=150, deadline=None)
@given(kinds=st.sampled_from(sorted(ALLOWED_EDGES, key=str)), a=part, b=part)
def test_edge_id_round_trips(kinds: tuple[NodeKind, EdgeType, NodeKind], a: str, b: str) -> None:
    src_kind, etype, dst_kind = kinds
    src = node_id(src_kind, a, b, a if src_kind.versioned else None)
    dst = node_id(dst_kind, b, a, b if dst_kind.versioned else None)
    text = edge_id(src, etype, dst)
    assert parse_edge_id(text) == (src, etype, dst)


@given(kind=st.sampled_from(list(NodeKind)), namespace=part, name=part)
def test_different_parts_give_different_ids(kind: NodeKind, namespace: str, name: str) -> None:
    assume(namespace != name)
    ver = "1" if kind.versioned else None
    assert node_id(kind, namespace, name, ver) != node_id(kind, name, namespace, ver)


@pytest.mark.parametrize(
    ("kind", "ns", "name", "version", "expected"),
    [
        (NodeKind.DATASET, "warehouse", "orders.clean", "v7", "dataset:warehouse/orders.clean@v7"),
        (NodeKind.RUN, "ci", "train-churn", "1234", "run:ci/train-churn@1234"),
        (NodeKind.DEPLOYMENT, "prod", "churn-api", None, "deployment:prod/churn-api"),
        (NodeKind.CODE_COMMIT, "git", "github.com/acme/ml", "3f2a", "codecommit:git/github.com/acme/ml@3f2a"),
        (NodeKind.DATASET, "postgres://db:5432", "orders", "1", "dataset:postgres:%2F%2Fdb:5432/orders@1"),
        (NodeKind.MODEL, "ml", "churn model", "v 1@x", "model:ml/churn%20model@v%201%40x"),
        (NodeKind.FEATURE, "fs", "100%", "1", "feature:fs/100%25@1"),
    ],
)
def test_documented_examples(kind: NodeKind, ns: str, name: str, version: str | None, expected: str) -> None:
    assert node_id(kind, ns, name, version) == expected
    assert parse_node_id(expected) == NodeKey(kind, ns, name, version)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "orders",
        "dataset",
        "dataset:",
        "dataset:warehouse",
        "dataset:warehouse/",
        "dataset:/orders@1",
        "dataset:warehouse/orders",  # versioned kind without a version
        "dataset:warehouse/orders@",  # empty version
        "deployment:prod/api@1",  # unversioned kind with a version
        "table:warehouse/orders@1",  # unknown kind
        "Dataset:warehouse/orders@1",  # not the canonical prefix
        "code_commit:git/repo@abc",  # a spelling of the kind, not its prefix
        "dataset:warehouse/my orders@1",  # raw space
        "dataset:ware\thouse/orders@1",  # control character
        "dataset:warehouse/orders@1@2",  # '@' must be escaped in a version
        "dataset:ware@house/orders@1",  # ... and in a namespace
        "dataset:warehouse/or%64ers@1",  # needless escape: not canonical
        "dataset:warehouse/a%09b@1",  # an escaped control character
        "dataset:warehouse/orders\u00a0x@1",  # raw non-breaking space
    ],
)
def test_malformed_node_ids_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="malformed node id"):
        parse_node_id(text)


@pytest.mark.parametrize(
    "text",
    [
        "dataset:w/a@1 -> dataset:w/b@1",
        "dataset:w/a@1 -FEEDS-> ",
        "dataset:w/a@1 -feeds-> dataset:w/b@1",
        "dataset:w/a@1 -FEEDS-> dataset:w/b",
        "dataset:w/a@1-FEEDS->dataset:w/b@1",
    ],
)
def test_malformed_edge_ids_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="malformed"):
        parse_edge_id(text)


def test_unknown_edge_type_in_an_edge_id() -> None:
    with pytest.raises(ValueError, match="unknown edge type"):
        parse_edge_id("dataset:w/a@1 -DERIVES-> dataset:w/b@1")


@pytest.mark.parametrize("value", ["", "   ", "a\x00b", "a\nb", "x" * 513])
def test_check_part_refuses(value: str) -> None:
    with pytest.raises(ValueError, match="version"):
        check_part("version", value)


def test_kind_and_edge_type_parsing() -> None:
    for kind in NodeKind:
        assert NodeKind.parse(kind.value) is kind
        assert NodeKind.parse(kind.value.upper()) is kind
        assert NodeKind.parse(kind.name.lower()) is kind
    assert NodeKind.parse("codecommit") is NodeKind.CODE_COMMIT
    with pytest.raises(ValueError, match="expected one of Dataset"):
        NodeKind.parse("Table")
    assert EdgeType.parse("input_to") is EdgeType.INPUT_TO
    with pytest.raises(ValueError, match="expected one of INPUT_TO"):
        EdgeType.parse("DERIVES")
    assert [k.versioned for k in NodeKind] == [k is not NodeKind.DEPLOYMENT for k in NodeKind]


def test_edge_ids_are_told_apart_from_node_ids() -> None:
    from lineage.model.ids import is_edge_id

    arrowy = node_id(NodeKind.DATASET, "w", "a->b", "1")
    assert not is_edge_id(arrowy) and parse_node_id(arrowy).name == "a->b"
    assert is_edge_id(edge_id(arrowy, EdgeType.FEEDS, "dataset:w/c@1"))
    assert is_edge_id("  dataset:w/a@1 -FEEDS-> dataset:w/c@1 ")
    assert not is_edge_id("dataset:w/a@1")
