"""The web UI's files: HTML pages, the application's ES modules, styles and vendored libraries.

Everything the browser loads is in ``static/``; nothing comes from another host at run time.
Third-party files under ``static/vendor/`` are re-fetched by ``tools/vendor-ui.sh`` at pinned
versions and listed with their licences in ``static/vendor/manifest.json``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def static_dir() -> Path:
    """The directory of the UI's files (inside the installed package)."""
    return Path(str(files("lineage.ui") / "static"))
