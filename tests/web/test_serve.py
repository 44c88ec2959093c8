"""`stemcell-qa serve` with `--watch` and `--refresh-every`: the command runs in-process with
uvicorn replaced by the test client, so the real app, lifespan and background job run
(fake embedder: plumbing, no answer quality is claimed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from assistant import cli
from index import store
from tests.conftest import FakeEmbedder, wait_for

NEW = "A patient developed a spinal tumour after the injections."


def _passages(client: TestClient, question: str) -> list[str]:
    response = client.get("/ask", params={"q": question})
    assert response.status_code == 200
    return [p["text"] for p in response.json()["passages"]]


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch, fake_embedder: FakeEmbedder) -> dict[str, Any]:
    """Run `serve` with the fake model; `seen` gets the app and what the scenario measured."""
    monkeypatch.setattr(cli, "_embedder", lambda: fake_embedder)
    monkeypatch.setenv("STEMCELL_QA_RATE_LIMIT", "0")
    monkeypatch.setenv("STEMCELL_QA_RELOAD_INTERVAL", "0.1")
    return {}


def test_serve_watch_serves_a_changed_local_file_within_seconds(
    serve: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    note = docs / "clinic.md"
    note.write_text("# Clinic note\nThe clinic offers knee injections for pain.\n")

    def run(app: Any, **options: Any) -> None:
        with TestClient(app) as client:
            wait_for(lambda: client.get("/readyz").status_code == 200)  # built at start
            first = client.get("/readyz").json()["index_version"]
            assert not any(NEW in p for p in _passages(client, "spinal tumour injections"))
            note.write_text(f"# Clinic note\nThe clinic offers knee injections for pain.\n{NEW}\n")
            serve["took"] = wait_for(
                lambda: any(NEW in p for p in _passages(client, "spinal tumour injections"))
            )
            serve["versions"] = (first, client.get("/readyz").json()["index_version"])
            serve["plan"] = app.state.refresher.plan

    monkeypatch.setattr(uvicorn, "run", run)
    index = tmp_path / "index"
    args = ["serve", "--index", str(index), "--no-sources", "--docs", str(docs), "--watch"]
    assert cli.main([*args, "--refresh-every", "12h"]) == 0
    assert serve["took"] < 10  # served within seconds, the same server process throughout
    first, second = serve["versions"]
    assert first != second
    plan = serve["plan"]
    assert plan.every == 12 * 3600 and plan.watch and plan.docs == (docs,)
    assert plan.sources == () and plan.data_dir is None


def test_refresh_every_comes_from_the_environment_too(
    serve: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shared: Path
) -> None:
    def run(app: Any, **options: Any) -> None:
        with TestClient(app) as client:
            wait_for(lambda: client.get("/readyz").status_code == 200)
            serve["plan"] = app.state.refresher.plan

    monkeypatch.setattr(uvicorn, "run", run)
    monkeypatch.setenv("STEMCELL_QA_REFRESH_EVERY", "15m")
    seed = shared / "corpus" / "are-stem-cell-products-safe.txt"
    index = tmp_path / "index"
    assert cli.main(["serve", "--index", str(index), "--no-sources", "--docs", str(seed)]) == 0
    assert serve["plan"].every == 15 * 60 and not serve["plan"].watch


def test_serve_without_background_flags_only_serves(
    serve: dict[str, Any], monkeypatch: pytest.MonkeyPatch, seed_index: Path, embedder: Any
) -> None:
    def run(app: Any, **options: Any) -> None:
        with TestClient(app) as client:
            serve["refresher"] = app.state.refresher
            serve["ready"] = client.get("/readyz").status_code

    monkeypatch.setattr(uvicorn, "run", run)
    monkeypatch.setattr(cli, "_embedder", lambda: embedder)
    before = store.current_name(seed_index)
    assert cli.main(["serve", "--index", str(seed_index)]) == 0
    assert serve == {"refresher": None, "ready": 200}
    assert store.current_name(seed_index) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--refresh-every", "5x"], "invalid duration '5x': use forms like 30s, 15m, 24h"),
        (["--watch"], "--watch needs --docs PATH"),
    ],
)
def test_bad_background_flags_are_one_clear_line(
    serve: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    try:
        code = cli.main(["serve", "--index", str(tmp_path), *args])
    except SystemExit as exit_:  # argparse's own error for a malformed flag value
        code = int(exit_.code or 0)
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
