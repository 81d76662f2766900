"""Opaque Relay cursors: base64 of ``<kind>:<value>``, checked on the way back in."""

from __future__ import annotations

import base64
import binascii

from lineage.errors import BadInputError


def encode(kind: str, value: str | int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode().rstrip("=")


def decode(kind: str, cursor: str | None) -> str | None:
    """The value inside a cursor of the given kind; None for no cursor. Raises BadInputError."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    prefix, sep, value = raw.partition(":")
    if prefix != kind or not sep or not value:
        raise BadInputError(f"cursor {cursor!r} is not a {kind} cursor from this API; pass an endCursor it returned")
    return value


def decode_int(kind: str, cursor: str | None) -> int:
    value = decode(kind, cursor)
    if value is None:
        return 0
    if not value.isdigit():
        raise BadInputError(f"cursor {cursor!r} is not a {kind} cursor from this API")
    return int(value)
