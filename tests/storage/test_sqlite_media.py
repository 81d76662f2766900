"""The SQLite store on hostile media: a full disk and a read-only mount.

A full disk is a store failure, not a check result: the CLI exits 3 with one ``error
[BACKEND_UNAVAILABLE]`` line, the API answers 503, and nothing is half written. A store on read-only
media (an auditor's copy) can be read and verified; writing to it is refused the same way.

Both need a small tmpfs mounted for the test (root on Linux); elsewhere they skip, saying why.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lineage.api import create_app
from lineage.errors import BackendUnavailableError
from lineage.settings import Settings
from lineage.storage import open_store
from tests.cli.test_cli_core import clean_env, lineage
from tests.storage.test_sqlite_upgrade import as_version_2

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _mount(path: Path, size: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'mount failed'}); needs root on Linux")


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    _mount(mount, "3m")
    try:
        yield mount
    finally:
        _umount(mount)


def _fill(disk: Path) -> Path:
    """Fill the disk to the last byte; return the filler file (delete it to free the space)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for chunk in (65536, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def _batch(n: int, tag: str) -> dict[str, Any]:
    return {
        "nodes": [
            {"kind": "Dataset", "namespace": "w", "name": f"{tag}-{i}", "version": "1",
             "properties": {"blob": "x" * 2000}}
            for i in range(n)
        ]
    }


def _state(url: str) -> tuple[dict[str, int], str]:
    with open_store(url) as store:
        counts = store.counts()
        head = store.audit_entries()[-1].hash if counts["audit_entries"] else ""
    return counts, head


def test_register_on_a_full_disk_exits_3_and_writes_nothing(small_disk: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{small_disk / 'lineage.db'}"
    first = tmp_path / "first.json"
    first.write_text(json.dumps(_batch(5, "a")))
    assert lineage("register", "--file", str(first), "--store", url).returncode == 0
    before = _state(url)
    filler = _fill(small_disk)
    big = tmp_path / "big.json"
    big.write_text(json.dumps(_batch(400, "b")))
    proc = lineage("register", "--file", str(big), "--store", url)
    assert proc.returncode == 3, (proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error [BACKEND_UNAVAILABLE]"), proc.stderr
    assert "Traceback" not in proc.stderr
    filler.unlink()
    assert _state(url) == before
    verified = lineage("audit", "verify", "--store", url)
    assert verified.returncode == 0, verified.stdout + verified.stderr


async def test_api_answers_503_on_a_full_disk(small_disk: Path) -> None:
    url = f"sqlite:///{small_disk / 'lineage.db'}"
    with open_store(url) as store:
        from lineage.governance.access import create_token

        secret, _ = create_token(store, "ci", "writer", principal="user:seed")
    before = _state(url)
    app = create_app(Settings(store=url, mode="development", anonymous_read=True))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            filler = _fill(small_disk)
            headers = {"Authorization": f"Bearer {secret}"}
            events = [
                {
                    "eventType": "COMPLETE", "eventTime": "2026-11-20T10:00:00Z", "producer": "https://p",
                    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
                    "run": {"runId": str(uuid.uuid4()), "facets": {"big": {"_producer": "p", "_schemaURL": "https://x",
                                                                           "v": "y" * 50_000}}},
                    "job": {"namespace": "w", "name": f"job-{i}"},
                    "outputs": [{"namespace": "w", "name": f"out-{i}"}],
                }
                for i in range(40)
            ]
            response = await client.post("/api/v1/lineage/batch", json=events, headers=headers)
            assert response.status_code in (503, 207), response.text
            body = response.json()
            codes = (
                {r.get("code") for r in body["results"] if r["status"] == "error"}
                if response.status_code == 207
                else {body["errors"][0]["extensions"]["code"]}
            )
            assert codes == {"BACKEND_UNAVAILABLE"}, body
            reply = await client.post(
                "/graphql",
                json={"query": "mutation($b: BatchInput!) { register(batch: $b) { changed } }",
                      "variables": {"b": {"nodes": [dict(n, kind="DATASET") for n in _batch(200, "g")["nodes"]]}}},
                headers=headers,
            )
            assert [e["extensions"]["code"] for e in reply.json()["errors"]] == ["BACKEND_UNAVAILABLE"]
            assert str(small_disk) not in reply.text
            filler.unlink()
    after = _state(url)
    assert after[0]["nodes"] == before[0]["nodes"] and after[0]["audit_entries"] == before[0]["audit_entries"]


@pytest.fixture(params=["current", "version 2"])
def read_only_copy(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """The demo store on read-only media: made by this version, or in the version 2 layout (which
    cannot be upgraded there)."""
    media = tmp_path / "media"
    _mount(media, "16m")
    try:
        proc = lineage("demo", "--store", f"sqlite:///{media / 'lineage.db'}")
        assert proc.returncode == 0, proc.stderr
        if request.param == "version 2":
            as_version_2(media / "lineage.db")
        remount = subprocess.run(["mount", "-o", "remount,ro", str(media)], capture_output=True, text=True)
        if remount.returncode != 0:
            pytest.skip(f"cannot remount read-only: {remount.stderr.strip()}")
        assert not os.access(media, os.W_OK)
        yield f"sqlite:///{media / 'lineage.db'}"
    finally:
        _umount(media)


def test_a_store_on_read_only_media_can_be_read_and_verified(
    read_only_copy: str, request: pytest.FixtureRequest
) -> None:
    url = read_only_copy
    env = clean_env()
    if request.node.callspec.params["read_only_copy"] == "version 2":
        # Its edges are keyed by text ids, which this version's queries do not read: the error says
        # what to do, and the file is left as it was.
        before = (Path(url.removeprefix("sqlite:///"))).read_bytes()
        show = lineage("show", "model:ml/churn-classifier@3", "--store", url, env=env)
        assert show.returncode == 3 and "error [BACKEND_UNAVAILABLE]" in show.stderr, show.stderr
        assert "read-only media" in show.stderr and "copy the store files to writable storage" in show.stderr
        assert Path(url.removeprefix("sqlite:///")).read_bytes() == before
        return
    show = lineage("show", "model:ml/churn-classifier@3", "--store", url, env=env)
    assert show.returncode == 0, show.stderr
    verify = lineage("audit", "verify", "--store", url, env=env)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    impact = lineage("impact", "dataset:raw/payments.transactions@2026-11-03", "--format", "json", "--store", url)
    assert impact.returncode == 0 and json.loads(impact.stdout)["total"] > 0
    write = lineage("register", "--file", "-", "--store", url,
                    stdin='{"nodes": [{"kind": "Dataset", "namespace": "x", "name": "y", "version": "1"}]}')
    assert write.returncode == 3 and "error [BACKEND_UNAVAILABLE]" in write.stderr and "read-only" in write.stderr


def _ol_events(n: int) -> list[dict[str, Any]]:
    return [
        {
            "eventType": "COMPLETE", "eventTime": f"2026-11-20T10:{i:02d}:00Z", "producer": "https://p",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": str(uuid.UUID(int=i + 1)),
                    "facets": {"big": {"_producer": "p", "_schemaURL": "https://x", "v": "y" * 20_000}}},
            "job": {"namespace": "w", "name": f"job-{i}"},
            "outputs": [{"namespace": "w", "name": f"out-{i}"}],
        }
        for i in range(n)
    ]


def test_import_openlineage_on_a_full_disk_exits_3_and_running_it_again_finishes(
    small_disk: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{small_disk / 'lineage.db'}"
    events = tmp_path / "events.json"
    events.write_text(json.dumps(_ol_events(30)))
    assert lineage("db", "init", "--store", url).returncode == 0
    before = _state(url)
    filler = _fill(small_disk)
    os.truncate(filler, filler.stat().st_size - 256 * 1024)  # room to open the store, not for the events
    proc = lineage("import", "openlineage", str(events), "--store", url)
    assert proc.returncode == 3, (proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error [BACKEND_UNAVAILABLE]"), proc.stderr
    assert "run the same import again" in lines[0]
    filler.unlink()
    assert _state(url) == before
    again = lineage("import", "openlineage", str(events), "--store", url, "--format", "json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["failed"] == 0
    assert _state(url)[0]["raw_events"] == 30


def test_the_openlineage_intake_keeps_events_while_the_disk_is_full(small_disk: Path, tmp_path: Path) -> None:
    from lineage.ingest.openlineage_intake import Intake, IntakeMapper

    url = f"sqlite:///{small_disk / 'lineage.db'}"
    intake = Intake(tmp_path / "events.intake")  # on another disk, as the server's may be
    intake.land(["token:w"] * 30, _ol_events(30))
    with open_store(url) as store:
        mapper = IntakeMapper(store, intake)
        before = store.counts()
        filler = _fill(small_disk)
        with pytest.raises(BackendUnavailableError):
            mapper.step()
        assert intake.counts() == (30, 0)  # waiting, none failed
        assert store.counts() == before
        filler.unlink()
        assert mapper.step() == 30
        assert intake.counts() == (0, 0)
        assert store.counts()["raw_events"] == 30
    intake.close()


def test_replay_into_a_full_disk_exits_3_and_says_where_to_resume(small_disk: Path, tmp_path: Path) -> None:
    source = f"sqlite:///{tmp_path / 'source.db'}"
    events = tmp_path / "events.json"
    events.write_text(json.dumps(_ol_events(30)))
    assert lineage("import", "openlineage", str(events), "--store", source).returncode == 0
    target = f"sqlite:///{small_disk / 'copy.db'}"
    assert lineage("db", "init", "--store", target).returncode == 0
    before = _state(target)
    filler = _fill(small_disk)
    os.truncate(filler, filler.stat().st_size - 256 * 1024)
    proc = lineage("replay", "--from", source, "--to", target)
    assert proc.returncode == 3, (proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error [BACKEND_UNAVAILABLE]") and "--after 0 " in lines[0]
    filler.unlink()
    assert _state(target) == before
    again = lineage("replay", "--from", source, "--to", target, "--after", "0")
    assert again.returncode == 0, again.stderr
    assert _state(target)[0]["raw_events"] == 30
