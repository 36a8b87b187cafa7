"""Webhook receivers that misbehave: errors, rate limits, redirects, silence,
huge or cut-off responses and dropped connections. Every receiver listens on
127.0.0.1, and in each case the job itself stays completed."""

from __future__ import annotations

import os
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import anyio
import pytest

from e2e_support import write_shipping_module

pytestmark = pytest.mark.anyio

USER = "user_123"
ARRIVAL_TIMEOUT_SECONDS = 10.0
SETTLE_SECONDS = 0.5
# Schedule jitter is ±20 %, so a 1 s retry comes after at least 0.8 s.
MIN_JITTERED_RETRY_SECONDS = 0.8
HUGE_BODY_BYTES = 100 * 1024 * 1024
HUGE_BODY_CHUNK_BYTES = 64 * 1024
# Upper bound for the server's peak resident memory while it receives a huge response.
MAX_SERVER_RSS_BYTES = 300 * 1024 * 1024


async def wait_for_attempts(server: Any, job_id: str, count: int, timeout: float = ARRIVAL_TIMEOUT_SECONDS) -> dict[str, Any]:
    """Poll get_job_status until the job's own webhook has `count` delivery records."""

    def has_attempts(job: dict[str, Any]) -> bool:
        return job["webhook"] is not None and len(job["webhook"]["deliveries"]) >= count

    return await server.wait_for_job(job_id, until=has_attempts, timeout=timeout)


async def submit_with_webhook(server: Any, tmp_path: Path, url: str) -> str:
    path = write_shipping_module(tmp_path)
    submitted = await server.submit("file_processing", USER, {"file_path": str(path), "webhook_url": url})
    return submitted["job_id"]


def server_pid(binary: Path) -> int:
    """Return the pid of the one running child of this process that runs `binary`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            executable = os.readlink(entry / "exe")
        except OSError:
            continue
        parent_pid = int(stat.rsplit(")", 1)[1].split()[1])
        if parent_pid == os.getpid() and Path(executable) == binary:
            pids.append(int(entry.name))
    assert len(pids) == 1, f"expected one running {binary} child, found pids {pids}"
    return pids[0]


def status_bytes(pid: int, field: str) -> int:
    """Read a memory field such as VmHWM from /proc/<pid>/status, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            value, unit = line.split()[1:3]
            assert unit == "kB", line
            return int(value) * 1024
    raise AssertionError(f"{field} not in /proc/{pid}/status")


async def test_500_then_200_retried(start_server, webhook_receiver, tmp_path: Path) -> None:
    receiver = webhook_receiver(status_codes=(500,))
    async with start_server("--webhook-retry-schedule", "1s,1s") as server:
        job_id = await submit_with_webhook(server, tmp_path, receiver.url)
        first, second = await receiver.wait_for_requests(2, timeout=ARRIVAL_TIMEOUT_SECONDS)
        job = await wait_for_attempts(server, job_id, 2)
        logged = (await server.call_ok("list_deliveries", {"job_id": job_id}))["deliveries"]

    assert job["status"] == "completed"
    failed, delivered = job["webhook"]["deliveries"]
    assert failed["outcome"] == "failed"
    assert failed["status_code"] == 500
    assert "500" in failed["error"]
    assert delivered["outcome"] == "delivered"
    assert delivered["status_code"] == 200
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert second.received_at - first.received_at >= MIN_JITTERED_RETRY_SECONDS
    assert [entry["attempt"] for entry in logged] == [2, 1]


async def test_429_retry_after_honoured(start_server, webhook_receiver, tmp_path: Path) -> None:
    receiver = webhook_receiver(status_codes=(429,), response_headers={"Retry-After": "1"})
    async with start_server("--webhook-retry-schedule", "1s,1s") as server:
        job_id = await submit_with_webhook(server, tmp_path, receiver.url)
        first, second = await receiver.wait_for_requests(2, timeout=ARRIVAL_TIMEOUT_SECONDS)
        job = await wait_for_attempts(server, job_id, 2)

    assert job["status"] == "completed"
    limited, delivered = job["webhook"]["deliveries"]
    assert limited["outcome"] == "failed"
    assert limited["status_code"] == 429
    assert delivered["outcome"] == "delivered"
    # Retry-After replaces the jittered delay, so the retry waits the full second.
    assert second.received_at - first.received_at >= 1.0


@pytest.mark.parametrize("status_code", [301, 302, 307, 308])
async def test_redirect_not_followed(start_server, webhook_receiver, tmp_path: Path, status_code: int) -> None:
    target = webhook_receiver()
    redirecting = webhook_receiver(status_code=status_code, response_headers={"Location": target.url})
    async with start_server("--webhook-retry-schedule", "none") as server:
        job_id = await submit_with_webhook(server, tmp_path, redirecting.url)
        await redirecting.wait_for_requests(1, timeout=ARRIVAL_TIMEOUT_SECONDS)
        job = await wait_for_attempts(server, job_id, 1)
        await anyio.sleep(SETTLE_SECONDS)

    assert job["status"] == "completed"
    [delivery] = job["webhook"]["deliveries"]
    assert delivery["outcome"] == "failed"
    assert delivery["status_code"] == status_code
    assert str(status_code) in delivery["error"]
    assert target.url in delivery["error"]
    assert "not followed" in delivery["error"]
    assert target.requests == []
    assert len(redirecting.requests) == 1


async def test_silent_receiver_times_out(start_server, webhook_receiver, tmp_path: Path) -> None:
    receiver = webhook_receiver(hang=True)
    async with start_server("--webhook-timeout-secs", "2", "--webhook-retry-schedule", "none") as server:
        started = time.monotonic()
        job_id = await submit_with_webhook(server, tmp_path, receiver.url)
        job = await wait_for_attempts(server, job_id, 1)
        elapsed = time.monotonic() - started
        logged = (await server.call_ok("list_deliveries", {"job_id": job_id}))["deliveries"]

    assert job["status"] == "completed"
    [delivery] = job["webhook"]["deliveries"]
    assert delivery["outcome"] == "timed_out"
    assert delivery["status_code"] is None
    assert 1900 <= delivery["duration_ms"] <= 4000
    assert "no response" in delivery["error"]
    assert elapsed < 6
    assert [entry["outcome"] for entry in logged] == ["timed_out"]


async def test_huge_response_body_bounded(start_server, webhook_receiver, server_binary: Path, tmp_path: Path) -> None:
    """A 100 MB response is cut to a 4 KiB excerpt without the server reading or buffering the rest."""
    written = {"bytes": 0, "stopped_by": "end of body"}
    chunk = b"a" * HUGE_BODY_CHUNK_BYTES

    def stream_huge_body(handler: BaseHTTPRequestHandler, request_number: int) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Content-Length", str(HUGE_BODY_BYTES))
        handler.end_headers()
        deadline = time.monotonic() + 20
        try:
            while written["bytes"] < HUGE_BODY_BYTES and time.monotonic() < deadline:
                handler.wfile.write(chunk)
                written["bytes"] += len(chunk)
        except (BrokenPipeError, ConnectionResetError) as error:
            written["stopped_by"] = type(error).__name__
        handler.close_connection = True

    receiver = webhook_receiver(respond=stream_huge_body)
    async with start_server("--webhook-retry-schedule", "none") as server:
        pid = server_pid(server_binary)
        job_id = await submit_with_webhook(server, tmp_path, receiver.url)
        job = await wait_for_attempts(server, job_id, 1)
        peak_rss = status_bytes(pid, "VmHWM")
        [logged] = (await server.call_ok("list_deliveries", {"job_id": job_id}))["deliveries"]

    assert job["status"] == "completed"
    [delivery] = job["webhook"]["deliveries"]
    assert delivery["outcome"] == "delivered"
    assert delivery["status_code"] == 200
    assert delivery["duration_ms"] < 5000
    excerpt = logged["response_body"]
    assert excerpt is not None
    assert 0 < len(excerpt.encode()) <= 4096
    assert set(excerpt) == {"a"}
    assert peak_rss < MAX_SERVER_RSS_BYTES, f"server peak RSS {peak_rss / 2**20:.0f} MiB"
    assert written["bytes"] < HUGE_BODY_BYTES, f"receiver wrote all {written['bytes']} bytes"


async def test_cut_off_response_recorded(start_server, webhook_receiver, tmp_path: Path) -> None:
    """A 200 whose body stops after 10 of 1000 bytes counts as delivered and keeps the 10 bytes."""

    def cut_off_body(handler: BaseHTTPRequestHandler, request_number: int) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        handler.wfile.write(b"0123456789")
        handler.wfile.flush()
        handler.close_connection = True

    receiver = webhook_receiver(respond=cut_off_body)
    async with start_server("--webhook-retry-schedule", "1s") as server:
        job_id = await submit_with_webhook(server, tmp_path, receiver.url)
        job = await wait_for_attempts(server, job_id, 1)
        # A retry would come after about 1 s.
        await anyio.sleep(1.5)
        job = await server.job_status(job_id)
        [logged] = (await server.call_ok("list_deliveries", {"job_id": job_id}))["deliveries"]

    assert job["status"] == "completed"
    [delivery] = job["webhook"]["deliveries"]
    assert delivery["outcome"] == "delivered"
    assert delivery["status_code"] == 200
    assert logged["response_body"] == "0123456789"
    assert len(receiver.requests) == 1


async def test_closed_connection_retried(start_server, webhook_receiver, tmp_path: Path) -> None:
    """A receiver that closes the connection without a response gets a retry."""
    closed = threading.Event()

    def close_first_then_accept(handler: BaseHTTPRequestHandler, request_number: int) -> None:
        if request_number == 1:
            closed.set()
            handler.close_connection = True
            return
        handler.send_response(204)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    receiver = webhook_receiver(respond=close_first_then_accept)
    async with start_server("--webhook-retry-schedule", "1s") as server:
        job_id = await submit_with_webhook(server, tmp_path, receiver.url)
        first, second = await receiver.wait_for_requests(2, timeout=ARRIVAL_TIMEOUT_SECONDS)
        job = await wait_for_attempts(server, job_id, 2)

    assert closed.is_set()
    assert job["status"] == "completed"
    dropped, delivered = job["webhook"]["deliveries"]
    assert dropped["outcome"] == "failed"
    assert dropped["status_code"] is None
    assert "connection closed" in dropped["error"], dropped["error"]
    assert delivered["outcome"] == "delivered"
    assert delivered["status_code"] == 204
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
