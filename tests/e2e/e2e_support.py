"""Sample sources and checks shared by the end-to-end tests."""

from __future__ import annotations

import json
import queue
import re
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

REPO_ROOT = Path(__file__).resolve().parents[2]

# RFC 3339 in UTC with exactly three fractional digits, e.g. 2024-12-05T12:34:56.789Z.
RFC3339_MILLIS_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
VECTOR_ID = re.compile(r"^vec_\d+$")
# Protocol version of the initialize handshake that RawServer sends.
LEGACY_PROTOCOL_VERSION = "2025-06-18"
FINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})

# A Python module with three functions and one class with two methods. The
# McCabe complexities are 1, 2 (one `if`), 3 (`for` and `if`), 1 and 2 (`while`),
# so the mean is 9 / 5 = 1.8.
SHIPPING_MODULE = '''"""Shipping helpers used by the end-to-end tests."""


def compute_shipping_cost(weight_kg, distance_km):
    base_fee = 4.5
    return base_fee + weight_kg * 0.8 + distance_km * 0.05


def normalize_postal_code(raw_code):
    cleaned = raw_code.strip().upper()
    if len(cleaned) < 5:
        cleaned = cleaned.rjust(5, "0")
    return cleaned


def count_fragile_parcels(parcels):
    total = 0
    for parcel in parcels:
        if parcel.get("fragile"):
            total += 1
    return total


class DeliveryRoute:
    """An ordered list of stops served from one depot."""

    def __init__(self, depot):
        self.depot = depot
        self.stops = []

    def drain_pending_stops(self):
        visited = []
        while self.stops:
            visited.append(self.stops.pop())
        return visited
'''
SHIPPING_FUNCTIONS = 5
SHIPPING_CLASSES = 1
SHIPPING_COMPLEXITY = 1.8


def line_range(source: str, first_line_text: str, last_line_text: str) -> tuple[int, int]:
    """Return the 1-based lines of the first `first_line_text` and of the first
    `last_line_text` after it, matching whole stripped lines."""
    lines = source.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == first_line_text)
    end = next(i for i, line in enumerate(lines) if i > start and line.strip() == last_line_text)
    return start + 1, end + 1


def write_shipping_module(directory: Path, name: str = "shipping.py") -> Path:
    path = directory / name
    path.write_text(SHIPPING_MODULE)
    return path


def is_int(value: Any) -> bool:
    """Return True for JSON integers. Python's bool is a subclass of int, so it is excluded."""
    return type(value) is int


def assert_uuid4(text: Any) -> None:
    assert isinstance(text, str), f"job_id is not a string: {text!r}"
    parsed = uuid.UUID(text)
    assert parsed.version == 4, f"job_id {text} is UUID version {parsed.version}, expected 4"
    assert str(parsed) == text, f"job_id {text} is not in lowercase hyphenated form"


def parse_timestamp(text: Any) -> datetime:
    """Check the wire timestamp format and return the parsed UTC time."""
    assert isinstance(text, str), f"timestamp is not a string: {text!r}"
    assert RFC3339_MILLIS_UTC.match(text), f"timestamp {text!r} is not RFC 3339 UTC with milliseconds"
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def top_hit_for_symbol(results: list[dict[str, Any]], symbol: str, within: int = 3) -> dict[str, Any]:
    """Return the first of the top `within` search results whose symbol is `symbol`."""
    top = results[:within]
    for hit in top:
        if hit.get("symbol") == symbol:
            return hit
    summary = [(hit.get("symbol"), hit.get("path"), hit.get("score")) for hit in top]
    raise AssertionError(f"symbol {symbol} not in the top {within} results: {summary}")


def unused_local_port() -> int:
    """Return a 127.0.0.1 port that had a listener a moment ago and has none now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RawServer:
    """The binary driven with hand-written JSON-RPC lines, with every stdout line kept.

    Unlike the SDK's stdio client, this exposes the child process, so a test can
    send it signals such as SIGKILL.
    """

    def __init__(
        self,
        binary: Path,
        cwd: Path,
        stderr: IO[bytes],
        *args: str,
        data_dir: Path,
        rust_log: str = "debug",
    ) -> None:
        self.process = subprocess.Popen(
            [str(binary), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=cwd,
            env={
                "RUST_LOG": rust_log,
                "PATH": "/usr/bin:/bin",
                "MCP_CODE_INDEX_DATA_DIR": str(data_dir),
            },
        )
        self.lines: list[bytes] = []
        # Ids for call_tool; tests that send requests by hand use smaller ids.
        self._next_id = 1_000_000
        self._queue: queue.Queue[bytes | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        self.process.stdin.flush()

    def response(self, request_id: int, timeout: float = 15.0) -> dict[str, Any]:
        """Read stdout lines until the response to `request_id`, and fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no response to request {request_id} within {timeout} s")
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"stdout closed before the response to request {request_id}")
            self.lines.append(line)
            message = json.loads(line)
            if message.get("id") == request_id:
                return message

    def call_ok(self, tool: str, arguments: dict[str, Any], timeout: float = 15.0) -> dict[str, Any]:
        """Call a tool, assert it succeeded and return its structured content."""
        self._next_id += 1
        request_id = self._next_id
        self.send(
            {
                "jsonrpc": "2.0",
                "id": request_id,
                "method": "tools/call",
                "params": {"name": tool, "arguments": arguments},
            }
        )
        response = self.response(request_id, timeout)
        result = response.get("result")
        assert isinstance(result, dict), f"{tool}({arguments!r}) returned no result: {response}"
        assert not result.get("isError"), f"{tool}({arguments!r}) failed: {result}"
        return result["structuredContent"]

    def submit(self, job_type: str, user_id: str, metadata: dict[str, Any]) -> dict[str, Any]:
        return self.call_ok("submit_job", {"job_type": job_type, "user_id": user_id, "metadata": metadata})

    def job_status(self, job_id: str) -> dict[str, Any]:
        return self.call_ok("get_job_status", {"job_id": job_id})

    def wait_for_job(
        self,
        job_id: str,
        *,
        until: Callable[[dict[str, Any]], bool] = lambda job: job["status"] in FINAL_STATUSES,
        timeout: float = 30.0,
        interval: float = 0.05,
    ) -> dict[str, Any]:
        """Poll get_job_status until `until(job)` is true, and fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job_status(job_id)
            if until(job):
                return job
            if time.monotonic() >= deadline:
                raise AssertionError(f"job {job_id} did not reach the expected state within {timeout} s; last: {job}")
            time.sleep(interval)

    def close_stdin_and_wait(self, timeout: float) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self._reader.join(timeout=5)
            while True:
                try:
                    line = self._queue.get_nowait()
                except queue.Empty:
                    break
                if line is not None:
                    self.lines.append(line)

    def kill(self) -> None:
        """Send SIGKILL unless the process has already exited, and reap it."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)


def initialize(server: RawServer) -> dict[str, Any]:
    server.send(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": LEGACY_PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "raw-e2e", "version": "0.0.1"},
            },
        }
    )
    response = server.response(1)
    server.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    return response


# Every tool the server lists, and the ones marked read-only.
TOOLS = {
    "submit_job",
    "get_job_status",
    "list_jobs",
    "cancel_job",
    "search_code",
    "get_collection_stats",
    "register_webhook",
    "list_webhooks",
    "update_webhook",
    "delete_webhook",
    "rotate_webhook_secret",
    "send_test_webhook",
    "list_deliveries",
    "redeliver",
}
READ_ONLY_TOOLS = {"get_job_status", "list_jobs", "search_code", "get_collection_stats", "list_webhooks", "list_deliveries"}
