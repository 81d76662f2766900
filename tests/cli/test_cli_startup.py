"""Start-up of the `lineage` command: what it imports, version, completion, and the extras it names.

A CI hook runs ``lineage register`` on every job, so the entry point imports only what the command
being run needs; the server and Neo4j stacks are extras, and a command that needs a missing one says
which to install (exit 2, one ``error [MISSING_EXTRA]`` line, no traceback).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError as PydanticValidationError

import lineage
from lineage.cli import COMMANDS, load_command
from lineage.errors import ValidationError as LineageValidationError
from lineage.extras import EXTRA_MODULES
from lineage.settings import Settings, load_settings

HEAVY = ("uvicorn", "fastapi", "starlette", "strawberry", "networkx", "numpy", "neo4j", "prometheus_client", "httpx")
SERVER_AND_NEO4J = tuple(m for modules in EXTRA_MODULES.values() for m in modules)

# Runs the CLI with the named top-level modules made unimportable, as if their extra were not installed.
BLOCKED_CLI = """
import sys
blocked = set(sys.argv.pop(1).split(","))

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Blocker())
from lineage.cli import main
main()
"""


def env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LINEAGE_", "_LINEAGE"))}
    clean["COLUMNS"] = "300"
    return clean


def imported_by(code: str, *args: str, cwd: Path | None = None, full: bool = False) -> set[str]:
    """Top-level module names (every dotted name with ``full``) a fresh interpreter imports while
    running ``code`` with ``args``."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code, *args], capture_output=True,
                          text=True, env=env(), cwd=cwd, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            names.add(name if full else name.split(".")[0])
    return names


def small_batch(tmp_path: Path) -> Path:
    batch = {
        "nodes": [
            {"kind": "Dataset", "namespace": "ml", "name": "orders", "version": "7"},
            {"kind": "Run", "namespace": "ml", "name": "train", "version": "42"},
        ],
        "edges": [{"from": "dataset:ml/orders@7", "type": "INPUT_TO", "to": "run:ml/train@42"}],
    }
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(batch))
    return path


def test_import_lineage_and_the_cli_entry_point_stay_light() -> None:
    for code in ("import lineage", "import lineage.cli"):
        heavy = imported_by(code) & set(HEAVY)
        assert not heavy, f"{code!r} imports {sorted(heavy)}"


def test_help_and_a_local_register_import_no_server_graph_or_neo4j_stack(tmp_path: Path) -> None:
    run = "from lineage.cli import main; main()"
    assert not imported_by(run, "--help") & set(HEAVY)
    batch = small_batch(tmp_path)
    store = f"sqlite:///{tmp_path / 'l.db'}"
    for _ in range(2):  # first write and the idempotent repeat
        heavy = imported_by(run, "register", "--file", str(batch), "--store", store) & set(HEAVY)
        assert not heavy, f"lineage register --file imports {sorted(heavy)}"


def test_a_local_register_of_a_plain_batch_builds_no_pydantic_validator(tmp_path: Path) -> None:
    """Settings given as text and a small plain batch need no validator built: pydantic's plugin
    loader (and the installed-distributions scan it does with importlib.metadata) never runs."""
    run = "from lineage.cli import main; main()"
    store = f"sqlite:///{tmp_path / 'l.db'}"
    new_run = tmp_path / "run.yaml"
    new_run.write_text(small_batch(tmp_path).read_text().replace("42", "43"))
    for batch in (small_batch(tmp_path), small_batch(tmp_path), new_run):  # fresh store, repeat, new run
        modules = imported_by(run, "register", "--file", str(batch), "--store", store, full=True)
        assert "pydantic.plugin._loader" not in modules, batch


def test_json_batches_and_queries_do_not_load_pyyaml(tmp_path: Path) -> None:
    run = "from lineage.cli import main; main()"
    assert "yaml" not in imported_by("import lineage.model, lineage.storage")
    batch = tmp_path / "small.json"
    batch.write_text(json.dumps(yaml.safe_load(small_batch(tmp_path).read_text())))
    store = f"sqlite:///{tmp_path / 'l.db'}"
    for args in (["register", "--file", str(batch)], ["impact", "dataset:ml/orders@7"], ["audit", "verify"]):
        assert "yaml" not in imported_by(run, *args, "--store", store), args


def test_every_command_loads_and_its_listed_help_is_its_own() -> None:
    for name, spec in COMMANDS.items():
        command = load_command(name, spec)
        assert command.name == name
        own = (command.help or "").strip().splitlines()[0]
        assert own == spec.help, f"{name}: listed as {spec.help!r}, the command says {own!r}"


def test_version_and_completion() -> None:
    cli = [sys.executable, "-c", "from lineage.cli import main; main()"]
    version = subprocess.run([*cli, "--version"], capture_output=True, text=True, env=env(), timeout=60)
    assert version.returncode == 0 and version.stdout.strip() == f"lineage {lineage.__version__}"
    # typer takes the shell by name (instead of detecting the parent shell) with this variable set
    named = {**env(), "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    script = subprocess.run([*cli, "--show-completion", "bash"], capture_output=True, text=True, env=named,
                            timeout=60)
    assert script.returncode == 0 and "_LINEAGE_COMPLETE" in script.stdout

    def complete(words: str) -> list[str]:
        proc = subprocess.run(
            cli, capture_output=True, text=True, timeout=60,
            env={**env(), "_LINEAGE_COMPLETE": "complete_bash", "COMP_WORDS": words,
                 "COMP_CWORD": str(len(words.split(" ")) - 1)},
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.split()

    assert complete("lineage reg") == ["register"]
    assert "--file" in complete("lineage register --fi")
    assert {"log", "verify"} <= set(complete("lineage audit "))


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (["serve"], "server"),
        (["schema", "export"], "server"),
        (["show", "dataset:ml/orders@7", "--store", "neo4j://127.0.0.1:9"], "neo4j"),
        (["import", "mlflow", "--tracking-uri", "sqlite:///mlflow.db"], "mlflow"),
        (["import", "feast", "--repo", "."], "feast"),
    ],
)
def test_a_command_needing_a_missing_extra_names_it(args: list[str], extra: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", BLOCKED_CLI, ",".join(SERVER_AND_NEO4J), *args, *(
            ["--store", f"sqlite:///{tmp_path / 'l.db'}"] if args == ["serve"] else [])],
        capture_output=True, text=True, env=env(), cwd=tmp_path, timeout=120,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error [MISSING_EXTRA]"), proc.stderr
    assert f"lineage-engine[{extra}]" in lines[0]


def test_the_core_works_without_any_extra(tmp_path: Path) -> None:
    batch = small_batch(tmp_path)
    store = f"sqlite:///{tmp_path / 'l.db'}"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", BLOCKED_CLI, ",".join(SERVER_AND_NEO4J), *args],
                              capture_output=True, text=True, env=env(), cwd=tmp_path, timeout=120)

    registered = run("register", "--file", str(batch), "--store", store, "--format", "json")
    assert registered.returncode == 0, registered.stderr
    impact = run("impact", "dataset:ml/orders@7", "--store", store, "--format", "json")
    assert impact.returncode == 0 and "run:ml/train@42" in impact.stdout, impact.stderr
    assert run("audit", "verify", "--store", store).returncode == 0
    assert run("--help").returncode == 0


def test_settings_come_from_lineage_variables_in_any_case_with_flags_on_top() -> None:
    code = (
        "from lineage.settings import load_settings; s = load_settings(store='sqlite:///flag.db'); "
        "print(s.port, s.anonymous_read, s.store, s.neo4j_password.get_secret_value(), s.host)"
    )
    variables = {"LINEAGE_PORT": "9001", "lineage_anonymous_read": "true", "LINEAGE_STORE": "sqlite:///env.db",
                 "LINEAGE_NEO4J_PASSWORD": "pw", "LINEAGE_UNKNOWN": "ignored"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**env(), **variables})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["9001", "True", "sqlite:///flag.db", "pw", "127.0.0.1"]


def test_a_register_process_records_the_batch_as_a_process_with_built_models_does(tmp_path: Path) -> None:
    """``lineage register`` checks and records a small plain batch without building pydantic's
    validators (a fresh process); the audit entry it writes is the one of a full validation."""
    from lineage.model import Batch, parse_batch
    from lineage.storage import open_store

    document = {
        "nodes": [
            {"kind": "dataset", "namespace": "ml", "name": "orders", "version": 7, "owners": ["team-a"],
             "properties": {"rows": 12, "b": [1.5, None], "a": {"z": True}}},
            {"kind": "Run", "namespace": "ml", "name": "train", "version": "42", "properties": {"status": "FAIL"}},
            {"kind": "Deployment", "namespace": "prod", "name": "churn api"},
        ],
        "edges": [{"from": "dataset:ml/orders@7", "type": "input_to", "to": "run:ml/train@42"}],
    }
    batch = tmp_path / "b.json"
    batch.write_text(json.dumps(document))
    by_cli, in_process = tmp_path / "cli.db", tmp_path / "lib.db"
    proc = subprocess.run(
        [sys.executable, "-c", "from lineage.cli import main; main()", "register", "--file", str(batch),
         "--store", f"sqlite:///{by_cli}", "--actor", "ci"], capture_output=True, text=True, env=env(), timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    Batch.model_validate(document)  # this process has the models built
    st = open_store(f"sqlite:///{in_process}")
    try:
        st.register(parse_batch(document), principal="ci", source="cli")
        expected = st.audit_entries()
    finally:
        st.close()
    st = open_store(f"sqlite:///{by_cli}")
    try:
        recorded = st.audit_entries()
    finally:
        st.close()
    assert [(e.action, e.subjects, e.payload, e.writes) for e in recorded] == [
        (e.action, e.subjects, e.payload, e.writes) for e in expected
    ]


SETTING_VALUES = st.dictionaries(
    st.sampled_from(sorted(Settings.model_fields)),
    st.sampled_from(["sqlite:///l.db", "neo4j://h:7687", "", " ", "ci-bot", "\udcff", "8000", "true", "full"])
    | st.integers(0, 9000) | st.booleans() | st.none(),
    max_size=4,
)


@settings(max_examples=300)
@given(SETTING_VALUES)
def test_settings_made_without_validation_are_the_validated_ones(values: dict[str, Any]) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("LINEAGE_")}
    with mock.patch.dict(os.environ, clean, clear=True):
        try:
            quick = load_settings(**values)
        except LineageValidationError:  # load_settings reports pydantic's refusal as BAD_INPUT
            quick = None
    given_values = {k: v for k, v in values.items() if v is not None}
    try:
        full = Settings(**given_values)
    except PydanticValidationError:
        assert quick is None
        return
    assert quick is not None
    assert quick == full and quick.__dict__ == full.__dict__
    assert [type(v) for v in quick.__dict__.values()] == [type(v) for v in full.__dict__.values()]
    assert quick.model_fields_set == full.model_fields_set


COLLECTOR_SPY = """
import atexit, gc, sys
import lineage.cli.common as common
seen = []
settings_for = common.settings_for

def spy(*args, **kwargs):
    seen.append((gc.isenabled(), gc.get_freeze_count() > 0))
    return settings_for(*args, **kwargs)

common.settings_for = spy
atexit.register(lambda: print("collector", seen))
from lineage.cli import main
main()
"""


def test_the_lineage_process_runs_its_command_with_the_collector_on(tmp_path: Path) -> None:
    """The command's own process pauses the cycle collector while the command loads and freezes
    what loading built; the command then runs with the collector on."""
    store = f"sqlite:///{tmp_path / 'l.db'}"
    proc = subprocess.run([sys.executable, "-c", COLLECTOR_SPY, "register", "--file", str(small_batch(tmp_path)),
                           "--store", store], capture_output=True, text=True, env=env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "collector [(True, True)" in proc.stdout, proc.stdout


def test_an_in_process_app_leaves_the_collector_alone(tmp_path: Path) -> None:
    import gc

    from typer.testing import CliRunner

    from lineage.cli import build_app

    frozen = gc.get_freeze_count()
    result = CliRunner().invoke(build_app(), ["register", "--file", str(small_batch(tmp_path)),
                                              "--store", f"sqlite:///{tmp_path / 'l.db'}"])
    assert result.exit_code == 0, result.output
    assert gc.isenabled() and gc.get_freeze_count() == frozen
