"""Signed checkpoints: the chain head, signed with Ed25519, to keep outside the store.

The chain proves the stored graph against the log, but someone with write access to the store
could rewrite the log and the graph together, consistently. A head kept elsewhere (a CI artifact,
a ticket, a transparency log) closes that gap: a later store must still hold that exact entry.
A checkpoint is that head signed with a key the store never sees, so the artifact itself cannot
be swapped for one matching a rewritten store.

File format (JSON): ``format``, ``seq``, ``hash``, ``at``, ``entries``, ``store``, ``signed_at``,
``public_key`` (raw Ed25519, hex) and ``signature`` (hex) over the canonical JSON of every other
field (:func:`lineage.audit.chain.canonical`).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from lineage.audit.chain import canonical
from lineage.errors import IntegrityError, ValidationError

FORMAT = "lineage-audit-checkpoint/1"


def generate_key(private_path: Path, public_path: Path) -> None:
    """Write a new Ed25519 key pair as PEM files (the private one readable by its owner only)."""
    if private_path.exists():
        raise ValidationError(f"{private_path} exists; refusing to overwrite a key")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public_path.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read {what} {path}: {exc.strerror}") from None


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(_read(path, "key file"), password=None)
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"{path} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValidationError(f"{path} holds a {type(key).__name__}; checkpoints are signed with Ed25519")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(_read(path, "public key file"))
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"{path} is not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValidationError(f"{path} holds a {type(key).__name__}; checkpoints are signed with Ed25519")
    return key


def _raw(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def sign(key: Ed25519PrivateKey, *, seq: int, hash: str, at: str | None, store: str) -> dict[str, Any]:
    """A signed checkpoint of the head (seq, hash, at) of a store."""
    body: dict[str, Any] = {
        "format": FORMAT,
        "seq": seq,
        "hash": hash,
        "at": at,
        "entries": seq,
        "store": store,
        "signed_at": datetime.now(UTC).isoformat(),
        "public_key": _raw(key.public_key()),
    }
    return body | {"signature": key.sign(canonical(body)).hex()}


def check(checkpoint: dict[str, Any], key: Ed25519PublicKey) -> tuple[int, str]:
    """The (seq, hash) a checkpoint anchors, once its signature is checked against the trusted key.

    Raises ValidationError (not a checkpoint) and IntegrityError (signature or key do not match).
    """
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise ValidationError(f"not a checkpoint: expected format {FORMAT!r}")
    try:
        seq, head, signature = int(checkpoint["seq"]), str(checkpoint["hash"]), bytes.fromhex(checkpoint["signature"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError(f"malformed checkpoint: {exc}") from None
    body = {k: v for k, v in checkpoint.items() if k != "signature"}
    try:
        key.verify(signature, canonical(body))
    except InvalidSignature:
        raise IntegrityError(
            "the checkpoint's signature does not verify with the given public key: it was altered or signed "
            "by another key"
        ) from None
    return seq, head


def read(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(_read(path, "checkpoint"))
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{path} is not JSON: {exc}") from None
    return data
