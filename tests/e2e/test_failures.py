"""Rejected submissions, failed jobs and webhook deliveries that do not succeed."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from e2e_support import is_int, parse_timestamp, unused_local_port, write_shipping_module

pytestmark = pytest.mark.anyio

USER = "user_123"


def has_delivery(job: dict) -> bool:
    return bool(job["webhook"] and job["webhook"]["deliveries"])


async def test_missing_file_fails_job(start_server, webhook_receiver, tmp_path: Path) -> None:
    receiver = webhook_receiver()
    missing = tmp_path / "does_not_exist.py"
    async with start_server() as server:
        submitted = await server.submit(
            "file_processing", USER, {"file_path": str(missing), "webhook_url": receiver.url}
        )
        [request] = await receiver.wait_for_requests(1)
        job = await server.wait_for_job(submitted["job_id"], until=has_delivery)
        listed = await server.call_ok("list_jobs", {"user_id": USER, "status": "failed"})

    assert job["status"] == "failed"
    assert job["success"] is False
    assert job["result_data"] is None
    assert job["error"]["code"] == "FILE_NOT_FOUND"
    assert str(missing) in job["error"]["message"]
    assert job["webhook"]["deliveries"][0]["outcome"] == "delivered"
    assert [entry["error_code"] for entry in listed["jobs"]] == ["FILE_NOT_FOUND"]

    payload = request.json()
    assert payload["job_id"] == submitted["job_id"]
    assert payload["status"] == "failed"
    assert payload["success"] is False
    assert payload["result_data"] is None
    assert set(payload["error"]) == {"code", "message", "details"}
    assert payload["error"]["code"] == "FILE_NOT_FOUND"
    assert str(missing) in payload["error"]["message"]
    assert isinstance(payload["error"]["details"], dict)
    parse_timestamp(payload["completed_at"])
    assert type(payload["duration_seconds"]) is float
    assert is_int(payload["metrics"]["processing_time_ms"])
    assert payload["metrics"]["chunks_count"] == 0
    assert payload["metadata"] == {"file_path": str(missing), "webhook_url": receiver.url}
    assert isinstance(payload["warnings"], list)


async def test_missing_workspace_fails_job(start_server, tmp_path: Path) -> None:
    async with start_server() as server:
        job = await server.run_job("workspace_indexing", USER, {"workspace_path": str(tmp_path / "nowhere")})
    assert job["status"] == "failed"
    assert job["error"]["code"] == "DIRECTORY_NOT_FOUND"


async def test_unknown_job_type_rejected(start_server) -> None:
    async with start_server() as server:
        message = await server.call_error(
            "submit_job", {"job_type": "image_resizing", "user_id": USER, "metadata": {"file_path": "/tmp/x.py"}}
        )
        listed = await server.call_ok("list_jobs", {})
    assert "image_resizing" in message
    assert "file_processing" in message
    assert "workspace_indexing" in message
    assert listed["jobs"] == []


@pytest.mark.parametrize("user_id", ["bad user!", "../etc", "x" * 65, ""])
async def test_invalid_user_id_rejected(start_server, user_id: str) -> None:
    async with start_server() as server:
        message = await server.call_error(
            "submit_job", {"job_type": "file_processing", "user_id": user_id, "metadata": {"file_path": "/tmp/x.py"}}
        )
        search_message = await server.call_error("search_code", {"user_id": user_id, "query": "parse"})
    assert "user_id" in message
    if user_id == "":
        assert "empty" in message
    elif len(user_id) > 64:
        assert "64" in message
    else:
        assert user_id in message
    assert "user_id" in search_message


@pytest.mark.parametrize(
    ("job_type", "metadata", "key"),
    [
        ("file_processing", {}, "file_path"),
        ("file_processing", {"file_path": "   "}, "file_path"),
        ("file_processing", {"file_path": 17}, "file_path"),
        ("workspace_indexing", {"file_path": "/tmp"}, "workspace_path"),
    ],
)
async def test_missing_path_rejected(start_server, job_type: str, metadata: dict, key: str) -> None:
    async with start_server() as server:
        message = await server.call_error("submit_job", {"job_type": job_type, "user_id": USER, "metadata": metadata})
        listed = await server.call_ok("list_jobs", {})
    assert f"metadata.{key}" in message
    assert listed["jobs"] == []


@pytest.mark.parametrize(
    "url",
    [
        "ftp://x",
        "http://user:pass@127.0.0.1:9/hook",
        "http://user@127.0.0.1:9/hook",
        "file:///etc/passwd",
        "not a url",
        "/relative/hook",
    ],
)
async def test_invalid_webhook_url_rejected(start_server, tmp_path: Path, url: str) -> None:
    path = write_shipping_module(tmp_path)
    async with start_server() as server:
        message = await server.call_error(
            "submit_job",
            {"job_type": "file_processing", "user_id": USER, "metadata": {"file_path": str(path), "webhook_url": url}},
        )
        listed = await server.call_ok("list_jobs", {})
    assert "webhook_url" in message
    assert url in message
    assert listed["jobs"] == []


async def test_non_string_webhook_url_rejected(start_server, tmp_path: Path) -> None:
    path = write_shipping_module(tmp_path)
    async with start_server() as server:
        message = await server.call_error(
            "submit_job",
            {"job_type": "file_processing", "user_id": USER, "metadata": {"file_path": str(path), "webhook_url": 8080}},
        )
    assert "webhook_url" in message


async def test_unknown_job_id_rejected(start_server) -> None:
    unknown = str(uuid.uuid4())
    async with start_server() as server:
        status_message = await server.call_error("get_job_status", {"job_id": unknown})
        cancel_message = await server.call_error("cancel_job", {"job_id": unknown})
        malformed_message = await server.call_error("get_job_status", {"job_id": "not-a-uuid"})
        stats_message = await server.call_error("get_collection_stats", {"user_id": "nobody_here"})
        empty_query = await server.call_error("search_code", {"user_id": USER, "query": "   "})
    assert unknown in status_message
    assert "not found" in status_message
    assert unknown in cancel_message
    assert "not-a-uuid" in malformed_message
    assert "nobody_here_code" in stats_message
    assert "query" in empty_query


async def test_receiver_500_records_failure(start_server, webhook_receiver, tmp_path: Path) -> None:
    receiver = webhook_receiver(status_code=500)
    path = write_shipping_module(tmp_path)
    async with start_server() as server:
        submitted = await server.submit("file_processing", USER, {"file_path": str(path), "webhook_url": receiver.url})
        job = await server.wait_for_job(submitted["job_id"], until=has_delivery)
    requests = receiver.requests

    assert job["status"] == "completed"
    assert job["success"] is True
    assert len(requests) == 1, "the notifier makes one attempt per job"
    [delivery] = job["webhook"]["deliveries"]
    assert delivery["outcome"] == "failed"
    assert delivery["status_code"] == 500
    assert "500" in delivery["error"]


async def test_slow_receiver_does_not_delay_job(start_server, webhook_receiver, tmp_path: Path) -> None:
    receiver = webhook_receiver(delay_seconds=1.5)
    path = write_shipping_module(tmp_path)
    async with start_server() as server:
        submitted = await server.submit("file_processing", USER, {"file_path": str(path), "webhook_url": receiver.url})
        await receiver.wait_for_requests(1)
        job_while_waiting = await server.job_status(submitted["job_id"])
        job = await server.wait_for_job(submitted["job_id"], until=has_delivery, timeout=15)

    assert job_while_waiting["status"] == "completed"
    assert job_while_waiting["webhook"]["deliveries"] == []
    [delivery] = job["webhook"]["deliveries"]
    assert delivery["outcome"] == "delivered"
    assert delivery["status_code"] == 200
    assert delivery["duration_ms"] >= 1400


async def test_hanging_receiver_times_out_default(start_server, webhook_receiver, tmp_path: Path) -> None:
    """No --webhook-timeout-secs: the default 10 s timeout applies."""
    receiver = webhook_receiver(hang=True)
    path = write_shipping_module(tmp_path)
    async with start_server() as server:
        submitted = await server.submit("file_processing", USER, {"file_path": str(path), "webhook_url": receiver.url})
        job_id = submitted["job_id"]
        [request] = await receiver.wait_for_requests(1)
        job_while_hanging = await server.job_status(job_id)
        job = await server.wait_for_job(job_id, until=has_delivery, timeout=25, interval=0.25)
        observed_seconds = time.monotonic() - request.received_at

    assert job_while_hanging["status"] == "completed"
    assert job_while_hanging["webhook"]["deliveries"] == []
    [delivery] = job["webhook"]["deliveries"]
    assert delivery["outcome"] == "timed_out"
    assert delivery["status_code"] is None
    assert delivery["error"]
    assert 9_000 <= delivery["duration_ms"] <= 20_000
    assert 9 <= observed_seconds <= 20
    assert job["status"] == "completed"


async def test_hanging_receiver_uses_timeout_flag(start_server, webhook_receiver, tmp_path: Path) -> None:
    receiver = webhook_receiver(hang=True)
    path = write_shipping_module(tmp_path)
    async with start_server("--webhook-timeout-secs", "2") as server:
        started = time.monotonic()
        submitted = await server.submit("file_processing", USER, {"file_path": str(path), "webhook_url": receiver.url})
        job = await server.wait_for_job(submitted["job_id"], until=has_delivery, timeout=15, interval=0.1)
        elapsed = time.monotonic() - started

    [delivery] = job["webhook"]["deliveries"]
    assert delivery["outcome"] == "timed_out"
    assert 1_800 <= delivery["duration_ms"] <= 6_000
    assert elapsed < 8
    assert len(receiver.requests) == 1


async def test_unreachable_receiver_records_failure(start_server, tmp_path: Path) -> None:
    port = unused_local_port()
    url = f"http://127.0.0.1:{port}/hooks/job-done"
    path = write_shipping_module(tmp_path)
    async with start_server() as server:
        submitted = await server.submit("file_processing", USER, {"file_path": str(path), "webhook_url": url})
        job = await server.wait_for_job(submitted["job_id"], until=has_delivery, timeout=15)

    assert job["status"] == "completed"
    [delivery] = job["webhook"]["deliveries"]
    assert delivery["outcome"] == "failed"
    assert delivery["status_code"] is None
    error = delivery["error"].lower()
    assert "connect" in error or "refused" in error, delivery["error"]
    assert delivery["duration_ms"] < 5_000
