"""Hostile or unusual input: secrets in malformed metadata, repeated submissions,
cancellation races, path spellings and queries without searchable words."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.anyio

USER = "user_123"
SECRET = "LEAKME"


def has_delivery(job: dict) -> bool:
    return bool(job["webhook"] and job["webhook"]["deliveries"])


async def test_malformed_metadata_hides_values(start_server, webhook_receiver, tmp_path: Path) -> None:
    receiver = webhook_receiver()
    path = tmp_path / "secret.py"
    async with start_server() as server:
        submitted = await server.submit(
            "file_processing",
            USER,
            {"file_path": str(path), "content": {"api_token": SECRET}, "webhook_url": receiver.url},
        )
        [request] = await receiver.wait_for_requests(1)
        job = await server.wait_for_job(submitted["job_id"], until=has_delivery)
        rejected = await server.call_error(
            "submit_job",
            {
                "job_type": "file_processing",
                "user_id": USER,
                "metadata": {"file_path": str(path), "webhook_url": {"password": SECRET}},
            },
        )
        listed = await server.call_ok("list_jobs", {"user_id": USER})
        stderr = server.stderr_path

    assert job["status"] == "failed"
    assert job["error"]["code"] == "INVALID_METADATA"
    assert "got an object" in job["error"]["message"]
    assert "got an object" in rejected
    assert SECRET not in json.dumps(submitted)
    assert SECRET not in json.dumps(job)
    assert SECRET not in rejected
    assert SECRET not in json.dumps(listed)
    assert SECRET not in request.body.decode("utf-8", "replace")
    assert SECRET not in stderr.read_text()


async def test_query_without_words_explains(start_server, tmp_path: Path) -> None:
    path = tmp_path / "orders.py"
    path.write_text("def parse_order(request):\n    return request\n")
    async with start_server() as server:
        job = await server.run_job("file_processing", USER, {"file_path": str(path)})
        assert job["status"] == "completed"
        empty = {query: await server.search(USER, query) for query in ["f", "🙂", "???"]}
        found = await server.search(USER, "parse order")

    for query, result in empty.items():
        assert result["results"] == [], query
        assert "no searchable words" in result["message"], query
    assert found["results"]
    assert "message" not in found


async def test_cancel_true_means_cancelled(start_server, webhook_receiver, tmp_path: Path) -> None:
    receiver = webhook_receiver()
    path = tmp_path / "small.py"
    path.write_text("def small_job():\n    return 1\n")
    rounds = 50
    async with start_server() as server:
        outcomes = []
        for _ in range(rounds):
            submitted = await server.submit(
                "file_processing", USER, {"file_path": str(path), "webhook_url": receiver.url}
            )
            cancel = await server.call_ok("cancel_job", {"job_id": submitted["job_id"]})
            outcomes.append((submitted["job_id"], cancel))
        finals = {job_id: await server.wait_for_job(job_id, until=has_delivery) for job_id, _ in outcomes}
        requests = await receiver.wait_for_requests(rounds)

    webhook_status = {request.json()["job_id"]: request.json()["status"] for request in requests}
    promised = [job_id for job_id, cancel in outcomes if cancel["cancelled"]]
    assert promised, "no cancel_job call returned cancelled=true"
    for job_id in promised:
        assert finals[job_id]["status"] == "cancelled", job_id
        assert webhook_status[job_id] == "cancelled", job_id
    for job_id, cancel in outcomes:
        if not cancel["cancelled"]:
            assert finals[job_id]["status"] == cancel["status"], job_id


async def test_path_spellings_share_one_record(start_server, tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    (real / "a.py").write_text("def spelled_path():\n    return 1\n")
    canonical = str((real / "a.py").resolve())
    spellings = [
        str(real / "a.py"),
        str(real / ".." / "real" / "a.py"),
        str(tmp_path / "link" / "a.py"),
        "./real/a.py",
        "real/./a.py",
    ]
    async with start_server(cwd=tmp_path) as server:
        jobs = [await server.run_job("file_processing", USER, {"file_path": path}) for path in spellings]
        unsaved = await server.run_job(
            "file_processing",
            USER,
            {"file_path": str(tmp_path / "link" / "sub" / ".." / "new.py"), "content": "def new():\n    pass\n"},
        )
        stats = await server.call_ok("get_collection_stats", {"user_id": USER})
        slash = await server.call_error(
            "submit_job",
            {"job_type": "file_processing", "user_id": USER, "metadata": {"file_path": str(real / "a.py") + "/"}},
        )
        nul = await server.call_error(
            "submit_job",
            {"job_type": "file_processing", "user_id": USER, "metadata": {"file_path": str(real / "a\0.py")}},
        )

    for path, job in zip(spellings, jobs):
        assert job["status"] == "completed", path
        assert job["result_data"]["file_path"] == canonical, path
    assert unsaved["status"] == "completed"
    assert unsaved["result_data"]["file_path"] == str((real / "new.py").resolve().parent / "new.py")
    assert stats["files"] == 2
    assert "names a directory" in slash
    assert "NUL" in nul


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads directories whatever their permissions")
async def test_unreadable_workspace_fails(start_server, tmp_path: Path) -> None:
    root = tmp_path / "locked"
    root.mkdir()
    (root / "a.py").write_text("def locked():\n    return 1\n")
    root.chmod(0)
    try:
        async with start_server() as server:
            job = await server.run_job("workspace_indexing", USER, {"workspace_path": str(root)})
    finally:
        root.chmod(0o755)

    assert job["status"] == "failed"
    assert job["error"]["code"] == "READ_FAILED"
    assert str(root) in job["error"]["message"]


def versioned_module(version: str, functions: int) -> str:
    return "".join(
        f"def handler_{version}_{n}(request):\n    return dispatch_{version}(request, {n})\n\n"
        for n in range(functions)
    )


async def test_last_submission_wins(start_server, tmp_path: Path) -> None:
    path = str(tmp_path / "versioned.py")
    versions = [("v0", versioned_module("v0", 8_000)), ("v1", versioned_module("v1", 3)), ("v2", versioned_module("v2", 3))]
    async with start_server() as server:
        submitted = [
            await server.submit("file_processing", USER, {"file_path": path, "content": content})
            for _, content in versions
        ]
        jobs = [await server.wait_for_job(job["job_id"], timeout=120) for job in submitted]
        search = await server.search(USER, "handler dispatch request", limit=100)

    assert [job["status"] for job in jobs] == ["completed"] * 3
    texts = [hit["snippet"] for hit in search["results"] if hit["path"] == path]
    assert texts
    for text in texts:
        assert "handler_v2_" in text, text
    skipped = [job for job in jobs[:2] if any("a newer submission" in warning for warning in job["warnings"])]
    assert skipped, [job["warnings"] for job in jobs]
