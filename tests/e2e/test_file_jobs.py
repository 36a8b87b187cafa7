"""file_processing jobs end to end: the webhook payload contract, the job
status view, polling without a webhook, unsaved buffers and search."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from e2e_support import (
    SHIPPING_CLASSES,
    SHIPPING_COMPLEXITY,
    SHIPPING_FUNCTIONS,
    SHIPPING_MODULE,
    VECTOR_ID,
    assert_uuid4,
    is_int,
    line_range,
    parse_timestamp,
    top_hit_for_symbol,
    write_shipping_module,
)

pytestmark = pytest.mark.anyio

USER = "user_123"
CONTRACT_KEYS = {
    "job_id",
    "status",
    "success",
    "completed_at",
    "duration_seconds",
    "result_data",
    "metrics",
    "metadata",
    "warnings",
}


def sample_metadata(file_path: Path, webhook_url: str | None) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "file_path": str(file_path),
        "source": "vscode-extension",
        "editor": {"name": "vscode", "version": "1.96.0", "folders": ["/w/a", "/w/b"], "dirty": False},
        "priority": 3,
        "webhook_secret": "s3cr3t-webhook-value",
        "api_token": "tok-abc-123",
    }
    if webhook_url is not None:
        metadata["webhook_url"] = webhook_url
    return metadata


def redacted(metadata: dict[str, Any]) -> dict[str, Any]:
    copy = json.loads(json.dumps(metadata))
    copy["webhook_secret"] = "[REDACTED]"
    copy["api_token"] = "[REDACTED]"
    return copy


async def test_submit_returns_queued_uuid(start_server, tmp_path: Path) -> None:
    path = write_shipping_module(tmp_path)
    async with start_server() as server:
        submitted = await server.submit("file_processing", USER, {"file_path": str(path)})
        await server.wait_for_job(submitted["job_id"])

    assert_uuid4(submitted["job_id"])
    assert submitted["status"] == "queued"
    assert submitted["job_type"] == "file_processing"
    assert submitted["user_id"] == USER
    assert submitted["collection_name"] == f"{USER}_code"


async def test_webhook_payload_matches_contract(start_server, webhook_receiver, tmp_path: Path) -> None:
    receiver = webhook_receiver()
    path = write_shipping_module(tmp_path)
    metadata = sample_metadata(path, receiver.url)
    submitted_at = datetime.now(timezone.utc)

    async with start_server() as server:
        submitted = await server.submit("file_processing", USER, metadata)
        requests = await receiver.wait_for_requests(1)
        search = await server.search(USER, "count fragile parcels")
        await server.wait_for_job(submitted["job_id"])
    received_by = datetime.now(timezone.utc)

    assert len(requests) == 1
    request = requests[0]
    assert request.method == "POST"
    assert request.path == "/hooks/job-done"
    assert request.headers.get("content-type", "").startswith("application/json")
    assert request.headers.get("user-agent", "").startswith("mcp-code-index/")
    assert request.headers.get("webhook-id")
    webhook_timestamp = int(request.headers["webhook-timestamp"])
    assert abs(webhook_timestamp - time.time()) < 120, f"webhook-timestamp {webhook_timestamp} is not Unix seconds now"
    assert b"s3cr3t-webhook-value" not in request.body
    assert b"tok-abc-123" not in request.body

    payload = request.json()
    assert CONTRACT_KEYS <= payload.keys(), f"missing keys: {CONTRACT_KEYS - payload.keys()}"
    assert "error" not in payload
    assert payload["job_id"] == submitted["job_id"]
    assert payload["status"] == "completed"
    assert payload["success"] is True
    completed_at = parse_timestamp(payload["completed_at"])
    assert submitted_at - timedelta(seconds=1) <= completed_at <= received_by + timedelta(seconds=1)
    assert type(payload["duration_seconds"]) is float
    assert 0 <= payload["duration_seconds"] < 30
    assert payload["metadata"] == redacted(metadata)
    assert payload["warnings"] == []
    assert payload["job_type"] == "file_processing"
    assert payload["user_id"] == USER

    result = payload["result_data"]
    assert isinstance(result, dict)
    assert is_int(result["chunks_processed"])
    assert result["chunks_processed"] >= 1
    assert result["file_path"] == str(path)
    storage = result["vector_storage"]
    assert storage["collection_name"] == f"{USER}_code"
    assert is_int(storage["embeddings_generated"])
    assert storage["storage_success"] is True
    assert isinstance(storage["vector_ids"], list)
    assert all(isinstance(vid, str) and VECTOR_ID.match(vid) for vid in storage["vector_ids"]), storage["vector_ids"]
    assert len(set(storage["vector_ids"])) == len(storage["vector_ids"])
    assert len(storage["vector_ids"]) == result["chunks_processed"]
    assert storage["embeddings_generated"] == result["chunks_processed"]
    analysis = result["analysis_result"]
    assert is_int(analysis["functions_found"])
    assert analysis["functions_found"] == SHIPPING_FUNCTIONS
    assert is_int(analysis["classes_found"])
    assert analysis["classes_found"] == SHIPPING_CLASSES
    assert type(analysis["complexity_score"]) is float
    assert analysis["complexity_score"] == pytest.approx(SHIPPING_COMPLEXITY)

    metrics = payload["metrics"]
    assert is_int(metrics["processing_time_ms"])
    assert metrics["processing_time_ms"] >= 0
    assert is_int(metrics["chunks_count"])
    assert metrics["chunks_count"] == result["chunks_processed"]
    assert is_int(metrics["file_size_bytes"])
    assert metrics["file_size_bytes"] == path.stat().st_size

    assert search["collection_name"] == f"{USER}_code"
    assert search["total_chunks"] == result["chunks_processed"]
    hit = top_hit_for_symbol(search["results"], "count_fragile_parcels")
    assert hit["path"] == str(path)
    assert hit["language"] == "python"
    expected_lines = line_range(SHIPPING_MODULE, "def count_fragile_parcels(parcels):", "return total")
    assert (hit["start_line"], hit["end_line"]) == expected_lines
    assert hit["vector_id"] in storage["vector_ids"]
    assert "def count_fragile_parcels" in hit["snippet"]


async def test_job_status_matches_webhook(start_server, webhook_receiver, tmp_path: Path) -> None:
    receiver = webhook_receiver()
    path = write_shipping_module(tmp_path)
    metadata = sample_metadata(path, receiver.url)

    async with start_server() as server:
        submitted = await server.submit("file_processing", USER, metadata)
        job_id = submitted["job_id"]
        [request] = await receiver.wait_for_requests(1)
        # The delivery record is stored once the receiver's response arrives.
        job = await server.wait_for_job(job_id, until=lambda job: bool(job["webhook"] and job["webhook"]["deliveries"]))
    payload = request.json()

    assert job["job_id"] == job_id
    assert job["job_type"] == "file_processing"
    assert job["user_id"] == USER
    assert job["status"] == "completed"
    assert job["success"] is True
    created = parse_timestamp(job["created_at"])
    started = parse_timestamp(job["started_at"])
    completed = parse_timestamp(job["completed_at"])
    assert created <= started <= completed
    assert job["completed_at"] == payload["completed_at"]
    assert job["duration_seconds"] == payload["duration_seconds"]
    assert job["result_data"] == payload["result_data"]
    assert job["metrics"] == payload["metrics"]
    assert job["error"] is None
    assert job["warnings"] == payload["warnings"]
    assert job["metadata"] == redacted(metadata)

    chunks = payload["result_data"]["chunks_processed"]
    assert job["progress"] == {"files_total": 1, "files_processed": 1, "files_skipped": 0, "files_unchanged": 0, "chunks_processed": chunks}

    webhook = job["webhook"]
    assert webhook["url"] == receiver.url
    assert len(webhook["deliveries"]) == 1
    delivery = webhook["deliveries"][0]
    assert delivery["outcome"] == "delivered"
    assert delivery["status_code"] == 200
    assert delivery["error"] is None
    assert delivery["url"] == receiver.url
    assert delivery["message_id"] == request.headers["webhook-id"]
    assert is_int(delivery["duration_ms"])
    assert parse_timestamp(delivery["attempted_at"]) >= completed


async def test_job_without_webhook_completes(start_server, tmp_path: Path) -> None:
    path = write_shipping_module(tmp_path)
    async with start_server() as server:
        submitted = await server.submit("file_processing", USER, {"file_path": str(path), "source": "cli"})
        job = await server.wait_for_job(submitted["job_id"])
        listed = await server.call_ok("list_jobs", {"user_id": USER})
        completed_only = await server.call_ok("list_jobs", {"user_id": USER, "status": "completed"})
        failed_only = await server.call_ok("list_jobs", {"user_id": USER, "status": "failed"})
        other_user = await server.call_ok("list_jobs", {"user_id": "someone_else"})
        stats = await server.call_ok("get_collection_stats", {"user_id": USER})

    assert job["status"] == "completed"
    assert job["success"] is True
    assert job["webhook"] is None
    assert job["metadata"] == {"file_path": str(path), "source": "cli"}
    result = job["result_data"]
    assert result["file_path"] == str(path)
    assert result["analysis_result"]["functions_found"] == SHIPPING_FUNCTIONS
    assert result["analysis_result"]["classes_found"] == SHIPPING_CLASSES
    assert len(result["vector_storage"]["vector_ids"]) == result["chunks_processed"]
    assert job["metrics"]["file_size_bytes"] == path.stat().st_size

    assert [entry["job_id"] for entry in listed["jobs"]] == [submitted["job_id"]]
    assert listed["jobs"][0]["status"] == "completed"
    assert listed["jobs"][0]["error_code"] is None
    assert [entry["job_id"] for entry in completed_only["jobs"]] == [submitted["job_id"]]
    assert failed_only["jobs"] == []
    assert other_user["jobs"] == []

    assert stats["collection_name"] == f"{USER}_code"
    assert stats["live_chunks"] == result["chunks_processed"]
    assert stats["files"] == 1
    assert stats["tombstones"] == 0


async def test_content_overrides_disk_file(start_server, tmp_path: Path) -> None:
    path = tmp_path / "buffer.py"
    path.write_text("def alpha_disk_version_only():\n    return 'saved on disk'\n")
    unsaved = (
        "class BufferedEditorState:\n"
        "    pass\n"
        "\n"
        "\n"
        "def beta_unsaved_buffer_only(text):\n"
        "    return text.upper()\n"
        "\n"
        "\n"
        "def gamma_unsaved_helper():\n"
        "    return 42\n"
    )
    async with start_server() as server:
        job = await server.run_job("file_processing", USER, {"file_path": str(path), "content": unsaved})
        buffer_search = await server.search(USER, "beta unsaved buffer only text upper")
        disk_search = await server.search(USER, "alpha disk version only saved on disk")

    assert job["status"] == "completed", job
    result = job["result_data"]
    assert result["file_path"] == str(path)
    assert result["analysis_result"]["functions_found"] == 2
    assert result["analysis_result"]["classes_found"] == 1
    assert job["metrics"]["file_size_bytes"] == len(unsaved.encode())

    hit = top_hit_for_symbol(buffer_search["results"], "beta_unsaved_buffer_only")
    assert hit["path"] == str(path)
    assert (hit["start_line"], hit["end_line"]) == (5, 6)
    symbols = [result.get("symbol") for result in disk_search["results"]]
    assert "alpha_disk_version_only" not in symbols
    assert all("alpha_disk_version_only" not in result["snippet"] for result in disk_search["results"])


async def test_resubmit_replaces_file_chunks(start_server, tmp_path: Path) -> None:
    path = write_shipping_module(tmp_path)
    async with start_server() as server:
        first = await server.run_job("file_processing", USER, {"file_path": str(path)})
        second = await server.run_job("file_processing", USER, {"file_path": str(path)})
        stats = await server.call_ok("get_collection_stats", {"user_id": USER})

    chunks = first["result_data"]["chunks_processed"]
    assert second["result_data"]["chunks_processed"] == chunks
    assert set(first["result_data"]["vector_storage"]["vector_ids"]).isdisjoint(
        second["result_data"]["vector_storage"]["vector_ids"]
    )
    assert stats["live_chunks"] == chunks
    assert stats["files"] == 1
    assert stats["tombstones"] == chunks
