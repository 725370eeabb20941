"""GraphiQL is served by socialcrm itself: the page loads nothing from another origin."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from socialcrm.server.app import STATIC_FOLDER

ASSET = re.compile(r"""<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)\"""")
GRAPHIQL_FILES = STATIC_FOLDER / "graphiql"


async def _page(client: httpx.AsyncClient) -> str:
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    return response.text


async def test_graphiql_refers_only_to_this_server(client: httpx.AsyncClient) -> None:
    page = await _page(client)
    assets = ASSET.findall(page)
    assert len(assets) >= 6, assets
    for url in assets:
        if url.startswith("data:"):
            continue
        assert url.startswith("/static/graphiql/"), f"{url} is not served by socialcrm"
    assert "unpkg" not in page and "cdn" not in page.lower()


async def test_every_graphiql_file_is_served_with_its_type(client: httpx.AsyncClient) -> None:
    page = await _page(client)
    for url in ASSET.findall(page):
        if url.startswith("data:"):
            continue
        response = await client.get(url)
        assert response.status_code == 200, url
        expected = "text/css" if url.endswith(".css") else "javascript"
        assert expected in response.headers["content-type"], (url, response.headers)
        assert len(response.content) > 500, url


def test_every_vendored_package_has_its_licence() -> None:
    versions = (GRAPHIQL_FILES / "VERSIONS").read_text(encoding="utf-8").split()
    assert any(spec.startswith("graphiql@") for spec in versions)
    for spec in versions:
        name = spec.rsplit("@", 1)[0].lstrip("@").replace("/", "-")
        licence = GRAPHIQL_FILES / "licenses" / f"{name}.txt"
        assert licence.is_file(), licence
        assert "MIT" in Path(licence).read_text(encoding="utf-8")


async def test_static_files_refuse_paths_outside_their_folder(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/../app.py")
    assert response.status_code == 404
