"""job.progress events for registered webhooks that opt in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.anyio

USER = "progress_user"
FILES = 1500


def write_tree(root: Path) -> Path:
    for index in range(FILES):
        directory = root / f"pkg_{index // 100}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"module_{index}.py").write_text(f"def handler_{index}(value):\n    return value + {index}\n")
    return root


async def test_progress_events_reach_subscribers(start_server, webhook_receiver, tmp_path: Path) -> None:
    progress_receiver = webhook_receiver()
    end_receiver = webhook_receiver()
    tree = write_tree(tmp_path / "tree")
    async with start_server() as server:
        await server.call_ok(
            "register_webhook", {"user_id": USER, "url": progress_receiver.url, "events": ["job.progress"]}
        )
        await server.call_ok("register_webhook", {"user_id": USER, "url": end_receiver.url})
        job = await server.run_job("workspace_indexing", USER, {"workspace_path": str(tree)}, timeout=180)
        assert job["status"] == "completed"
        ends = await end_receiver.wait_for_requests(1)
        progress = await progress_receiver.wait_for_requests(1)

    events = [json.loads(request.body) for request in progress]
    for event in events:
        assert event["type"] == "job.progress"
        assert event["job_id"] == job["job_id"]
        assert event["status"] == "running"
        assert event["progress"]["files_total"] == FILES
        assert event["progress"]["files_processed"] <= FILES
    ids = [request.headers["webhook-id"] for request in progress]
    assert len(set(ids)) == len(ids), "progress events reused a webhook-id"
    # The default subscription has job ends only, so no progress reaches it.
    assert [json.loads(request.body)["status"] for request in ends] == ["completed"]
    assert all(json.loads(request.body).get("type") != "job.progress" for request in ends)


async def test_progress_event_is_opt_in(start_server) -> None:
    async with start_server() as server:
        registered = await server.call_ok("register_webhook", {"user_id": USER, "url": "http://127.0.0.1:9/hook"})
    assert "job.progress" not in registered["webhook"]["events"]
    assert registered["webhook"]["events"] == ["job.completed", "job.failed", "job.cancelled"]
