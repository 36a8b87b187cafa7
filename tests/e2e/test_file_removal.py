"""file_removal jobs drop a file's chunks from the collection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from e2e_support import write_shipping_module

pytestmark = pytest.mark.anyio

USER = "removal_user"


async def test_removal_drops_file_chunks(start_server, webhook_receiver, tmp_path: Path) -> None:
    receiver = webhook_receiver()
    kept = write_shipping_module(tmp_path, "kept.py")
    removed = write_shipping_module(tmp_path, "removed.py")
    async with start_server() as server:
        for path in (kept, removed):
            job = await server.run_job("file_processing", USER, {"file_path": str(path)})
            assert job["status"] == "completed"
        before = await server.call_ok("get_collection_stats", {"user_id": USER})

        job = await server.run_job(
            "file_removal", USER, {"file_path": str(removed), "webhook_url": receiver.url}
        )
        after = await server.call_ok("get_collection_stats", {"user_id": USER})
        found = await server.search(USER, "normalize postal code", limit=20)
        again = await server.run_job("file_removal", USER, {"file_path": str(removed)})
        [request] = await receiver.wait_for_requests(1)

    chunks_per_file = before["live_chunks"] // 2
    assert job["status"] == "completed"
    assert job["result_data"]["chunks_removed"] == chunks_per_file
    assert job["result_data"]["chunks_processed"] == 0
    assert after["live_chunks"] == before["live_chunks"] - chunks_per_file
    assert after["files"] == before["files"] - 1
    paths = {Path(hit["path"]).name for hit in found["results"]}
    assert "removed.py" not in paths
    assert "kept.py" in paths
    assert again["status"] == "completed"
    assert again["result_data"]["chunks_removed"] == 0
    payload = json.loads(request.body)
    assert payload["job_type"] == "file_removal"
    assert payload["result_data"]["chunks_removed"] == chunks_per_file


async def test_removal_needs_file_path(start_server) -> None:
    async with start_server() as server:
        error = await server.call_error("submit_job", {"job_type": "file_removal", "user_id": USER, "metadata": {}})
    assert "file_path" in error
