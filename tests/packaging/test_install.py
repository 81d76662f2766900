"""Installing the project as a user would: the README quick start on an externally-managed Python
(Debian's own), and the release build (``python -m build``) whose wheel installs in a fresh venv.

These create virtual environments and install dependencies from the package index, so they take a
minute or two; they are marked ``packaging`` and run in CI with the rest of the suite.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 900


def _copy_checkout(dest: Path) -> Path:
    """The checkout's files (tracked and untracked, not ignored) in a fresh directory."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_file():
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    return dest


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "LINEAGE_STORE")}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", **extra)
    return env


def _externally_managed_python() -> str | None:
    """A system Python 3.11+ that refuses system-wide pip installs (PEP 668) and can make venvs."""
    for candidate in ("/usr/bin/python3", shutil.which("python3") or ""):
        if not candidate or not Path(candidate).exists():
            continue
        probe = subprocess.run(
            [candidate, "-c", "import sys, sysconfig, ensurepip, venv; "
             "print(sys.version_info >= (3, 11), sysconfig.get_path('stdlib'))"],
            capture_output=True, text=True,
        )
        if probe.returncode != 0:
            continue
        ok, stdlib = probe.stdout.split(maxsplit=1)
        if ok == "True" and (Path(stdlib.strip()) / "EXTERNALLY-MANAGED").exists():
            return candidate
    return None


def _quick_start_command() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    return block.group(1).strip()


def test_readme_quick_start_works_on_an_externally_managed_python(tmp_path: Path) -> None:
    python = _externally_managed_python()
    if python is None:
        pytest.skip("no externally-managed system Python 3.11+ with venv here (Debian: apt install python3-venv)")
    command = _quick_start_command()
    assert "venv" in command.split("pip install")[0], "the quick start must create a venv before installing"
    repo = _copy_checkout(tmp_path / "repo")
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "python3").symlink_to(python)
    env = _clean_env(PATH=f"{shim}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run(["bash", "-c", command], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "production" in done.stdout.lower()
    assert (repo / ".venv" / "bin" / "lineage").exists() and (repo / "lineage.db").exists()
    # the README's commands after the demo work in the same environment
    again = subprocess.run(["bash", "-c", ". .venv/bin/activate && lineage audit verify"], cwd=repo, env=env,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr


def test_build_makes_a_wheel_and_sdist_and_the_wheel_installs_in_a_fresh_venv(tmp_path: Path) -> None:
    pytest.importorskip("build")
    repo = _copy_checkout(tmp_path / "repo")
    dist = tmp_path / "dist"
    built = subprocess.run([sys.executable, "-m", "build", "--outdir", str(dist)], cwd=repo, env=_clean_env(),
                           capture_output=True, text=True, timeout=TIMEOUT)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    wheels, sdists = list(dist.glob("*.whl")), list(dist.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    with zipfile.ZipFile(wheels[0]) as whl:
        names = set(whl.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "lineage = lineage.cli:main" in whl.read(entry_points).decode()
    packaged = {p.relative_to(repo).as_posix() for p in (repo / "lineage").rglob("*.py")}
    assert packaged <= names  # every module of the package is in the wheel
    ui = {p.relative_to(repo).as_posix() for p in (repo / "lineage" / "ui" / "static").rglob("*") if p.is_file()}
    assert ui and ui <= names  # the web UI's pages, scripts and vendored libraries with their licences
    with tarfile.open(sdists[0]) as sdist:
        members = {m.split("/", 1)[1] for m in sdist.getnames() if "/" in m}
    assert {"pyproject.toml", "README.md"} <= members and packaged <= members

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", str(wheels[0])], env=_clean_env(),
                         capture_output=True, text=True, timeout=TIMEOUT)
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    lineage = str(venv / "bin" / "lineage")
    version = subprocess.run([lineage, "--version"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert version.returncode == 0 and re.search(r"\d+\.\d+\.\d+", version.stdout), version.stdout + version.stderr
    demo = subprocess.run([lineage, "demo", "--store", f"sqlite:///{tmp_path / 'demo.db'}"], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path, env=_clean_env())
    assert demo.returncode == 0 and "production" in demo.stdout.lower(), demo.stdout[-2000:] + demo.stderr[-2000:]
