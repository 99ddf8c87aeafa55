"""``ribat serve`` runs due feeds in the background: a directory feed defined with the ``ribat``
command is pulled by the server process on its own, and its run is recorded."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from e2e.live import Coalition, CollectionSpec, Org, User, start_hub
from support import indicator

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_the_server_pulls_a_due_feed_and_records_the_run(backend: str, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "bundle.json").write_text(
        json.dumps({"type": "bundle", "id": "bundle--0d6c7a3e-5b1f-4c2a-9e8d-7f6a5b4c3d2e", "objects": [indicator(1)]})
    )
    coalition = Coalition(
        orgs=(Org("ops", "Ops CERT", "MY"),),
        users=(User("ops@ops.example", "ops"),),
        collections=(CollectionSpec("inbox", "Inbox", "green", owner="ops", read=("community",)),),
    )
    settings = {"RIBAT_FEED_POLL_SECONDS": "0.5"}
    workdir = tmp_path / "hub"
    workdir.mkdir()
    with start_hub(backend, coalition, workdir, settings) as hub:
        hub.cli(
            "feed", "add", "drop box", "--kind", "directory", "--source", str(drop),
            "--collection", "inbox", "--user", "ops@ops.example", "--every", "5",
        )  # fmt: skip
        deadline = time.monotonic() + 60
        runs = ""
        while time.monotonic() < deadline:
            runs = hub.cli("feed", "runs", "drop box").stdout
            if "ok" in runs:
                break
            time.sleep(0.5)
        assert "ok" in runs, runs
        with hub.http("ops@ops.example") as client:
            got = client.get(f"{hub.collection_url('inbox')}objects/")
            assert [o["id"] for o in got.json()["objects"]] == [indicator(1)["id"]]
