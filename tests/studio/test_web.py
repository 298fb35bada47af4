"""The studio's JSON API and its network guard, through Starlette's test client (the real ASGI app)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from ftds.server.http import InsecureBindError
from ftds.server.studio.serve import studio_asgi
from ftds.tools.studio.store import open_workspace

HEADERS = {"X-Studio": "1", "X-Reviewer": quote("王审阅")}


def _client(tmp_path: Path, roots: list[Path], **kwargs: object) -> TestClient:
    ws = open_workspace(tmp_path / "ws")
    app, _ = studio_asgi(ws, roots, tmp_path / "exports", port=8765, **kwargs)  # type: ignore[arg-type]
    return TestClient(app, base_url="http://127.0.0.1:8765")


def test_the_api_imports_reviews_bulk_edits_and_exports_a_build(tmp_path: Path, build_folder: Path) -> None:
    client = _client(tmp_path, [tmp_path])
    imported = client.post("/api/datasets/import", json={"path": str(build_folder), "name": "law"}, headers=HEADERS)
    assert imported.status_code == 200 and imported.json()["added"] == 15
    dataset = imported.json()["dataset"]["id"]
    page = client.get(f"/api/datasets/{dataset}/samples", params={"label": "数据安全", "sort": "score", "desc": "1"})
    assert page.json()["total"] == 8
    facets = client.get(f"/api/datasets/{dataset}/facets").json()
    assert facets["checks"] == ["evidence"] and "总则/定义" in facets["labels"]
    sample = client.get(f"/api/datasets/{dataset}/samples/s001").json()
    edited = client.patch(
        f"/api/datasets/{dataset}/samples/s001",
        json={"fields": {"answer": "新的回答"}, "version": sample["row"]["version"]},
        headers=HEADERS,
    )
    assert edited.json()["reviewer"] == "王审阅"
    stale = client.patch(
        f"/api/datasets/{dataset}/samples/s001",
        json={"fields": {"answer": "x"}, "version": sample["row"]["version"]},
        headers=HEADERS,
    )
    assert stale.status_code == 409 and "changed since" in stale.json()["error"]
    no_reason = client.post(
        f"/api/datasets/{dataset}/samples/s002/decision", json={"decision": "reject"}, headers=HEADERS
    )
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["error"]
    op = {"kind": "relabel", "filter": {"label": "数据安全/义务"}, "label": "总则"}
    plan = client.post(f"/api/datasets/{dataset}/bulk/preview", json={"op": op}, headers=HEADERS).json()
    assert plan["samples"] == 4
    applied = client.post(
        f"/api/datasets/{dataset}/bulk/apply", json={"op": op, "fingerprint": plan["fingerprint"]}, headers=HEADERS
    )
    assert applied.json()["samples"] == 4
    assert client.post(f"/api/datasets/{dataset}/undo", json={}, headers=HEADERS).json()["samples"] == 4
    labels = client.get(f"/api/datasets/{dataset}/labels").json()
    assert labels["tree"][0]["name"] == "总则" and labels["balance"]["labels"]
    exported = client.post(f"/api/datasets/{dataset}/export", json={"format": "sharegpt"}, headers=HEADERS).json()
    assert exported["counts"] == {"train": 10, "validation": 2}
    archive = client.get(exported["download"])
    assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
    assert client.get(f"/api/datasets/{dataset}/validate", params={"format": "alpaca"}).json()["ok"]
    assert client.get("/api/datasets/99").status_code == 404
    assert client.get("/").status_code == 200 and "studio.js" in client.get("/").text


def test_import_paths_stay_inside_the_studio_roots(tmp_path: Path, build_folder: Path) -> None:
    client = _client(tmp_path, [tmp_path / "elsewhere"])
    answer = client.post("/api/datasets/import", json={"path": str(build_folder)}, headers=HEADERS)
    assert answer.status_code == 400 and "outside the folders" in answer.json()["error"]


def test_changes_need_the_studio_header_and_a_known_host(tmp_path: Path) -> None:
    client = _client(tmp_path, [tmp_path])
    assert client.post("/api/datasets/1/undo", json={}).status_code == 403  # what a cross-site form could send
    rebinding = client.get("/api/datasets", headers={"Host": "attacker.example:8765"})
    assert rebinding.status_code == 421


def test_beyond_loopback_needs_a_token_and_the_token_opens_the_page_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = open_workspace(tmp_path / "ws")
    with pytest.raises(InsecureBindError, match="without a token"):
        studio_asgi(ws, [tmp_path], tmp_path / "exports", host="0.0.0.0", token_env="STUDIO_TEST_TOKEN")
    monkeypatch.setenv("STUDIO_TEST_TOKEN", "s3cret")
    app, token = studio_asgi(ws, [tmp_path], tmp_path / "exports", host="0.0.0.0", token_env="STUDIO_TEST_TOKEN")
    client = TestClient(app, base_url="http://192.0.2.10:8765")
    assert token == "s3cret" and client.get("/api/datasets").status_code == 401
    opened = client.get("/?token=s3cret", follow_redirects=False)
    assert opened.status_code == 303 and "ftds_studio_token" in opened.headers["set-cookie"]
    assert client.get("/api/datasets").status_code == 200  # the cookie now carries the token
    bearer = TestClient(app, base_url="http://192.0.2.10:8765")
    assert bearer.get("/api/datasets", headers={"Authorization": "Bearer s3cret"}).status_code == 200
