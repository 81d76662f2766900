"""The web UI over HTTP: pages at / and /graphiql, assets from the package, nothing from elsewhere."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from conftest import Api, app_settings, open_api

from lineage.ui import static_dir

pytestmark = pytest.mark.anyio


@pytest.fixture
async def ui(tmp_path: Path) -> AsyncIterator[Api]:
    async for api in open_api(app_settings(f"sqlite:///{tmp_path / 'ui.db'}", mode="production"), {}):
        yield api


async def test_index_and_its_assets_are_served(ui: Api) -> None:
    page = await ui.client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assets = re.findall(r'(?:src|href)="([^"#]+)"', page.text)
    assert "/ui/js/app.js" in assets and any("cytoscape" in a for a in assets)
    for asset in assets:
        if asset == "/graphiql":  # a link, not an asset
            continue
        assert asset.startswith("/ui/"), f"{asset} is not served by the package"
        got = await ui.client.get(asset)
        assert got.status_code == 200, asset
    module = await ui.client.get("/ui/js/app.js")
    assert "javascript" in module.headers["content-type"]


async def test_no_inline_script_and_no_foreign_host_in_any_page_or_module() -> None:
    root = static_dir()
    for path in [*root.glob("*.html"), *root.glob("js/*.js"), root / "app.css"]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text), f"{path.name} names another host"
        if path.suffix == ".html":
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"{path.name} has an inline script"
            assert not re.search(r"\son[a-z]+=", text), f"{path.name} has an inline event handler"
    for path in root.glob("js/*.js"):
        text = path.read_text(encoding="utf-8")
        assert "innerHTML" not in text and "insertAdjacentHTML" not in text and "eval(" not in text, path.name


def test_vendored_files_match_their_manifest() -> None:
    vendor = static_dir() / "vendor"
    manifest = json.loads((vendor / "manifest.json").read_text(encoding="utf-8"))
    listed = set(manifest["files"])
    for rel, entry in manifest["files"].items():
        data = (vendor / rel).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], (
            f"{rel} differs from the vendored {entry['package']}"
        )
        assert entry["package"] in manifest["packages"]
    for name, package in manifest["packages"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", package["version"]), name
        assert (vendor / package["licence_file"]).is_file(), f"{name} has no licence beside it"
    on_disk = {str(p.relative_to(vendor)) for p in vendor.rglob("*") if p.is_file()}
    assert on_disk - listed == {"manifest.json"} | {p["licence_file"] for p in manifest["packages"].values()}


async def test_graphiql_is_offline_and_switchable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'g.db'}"
    async for off in open_api(app_settings(url, mode="production"), {}):
        page = await off.client.get("/graphiql")
        assert page.status_code == 404 and page.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert "--graphiql" in page.json()["errors"][0]["message"]
    async for on in open_api(app_settings(url, mode="production", graphiql=True), {}):
        for path in ("/graphiql", "/graphql"):
            page = await on.client.get(path, headers={"Accept": "text/html"})
            assert page.status_code == 200 and "/ui/vendor/graphiql/graphiql.min.js" in page.text
            assert "unpkg" not in page.text and "jsdelivr" not in page.text
        (await on.gql("{ viewer { name } }")).ok()
