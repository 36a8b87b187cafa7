"""Fixtures for the end-to-end tests: the server binary started through the
Python MCP SDK's stdio client, local webhook receivers and job polling.

Every server, receiver and request stays on 127.0.0.1 and is started by the
test that uses it.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp_types import CallToolResult

from e2e_support import FINAL_STATUSES, REPO_ROOT, RawServer, initialize

DEFAULT_BINARY = REPO_ROOT / "target" / "debug" / "mcp-code-index"

# Upper bound for one MCP request, so a server that stops responding fails the
# test instead of hanging the suite.
REQUEST_TIMEOUT_SECONDS = 30.0
# Upper bound for a hung receiver's handler thread, so teardown never waits on it.
HANDLER_HANG_LIMIT_SECONDS = 60.0
# Lines of server stderr attached to a failed test's report.
STDERR_TAIL_LINES = 300


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def server_binary() -> Path:
    """Path of the mcp-code-index binary, from MCP_CODE_INDEX_BIN or target/debug."""
    path = Path(os.environ.get("MCP_CODE_INDEX_BIN", DEFAULT_BINARY)).resolve()
    if not path.is_file():
        pytest.fail(f"server binary {path} not found; run `cargo build` or set MCP_CODE_INDEX_BIN")
    return path


# --- server stderr on failure ---------------------------------------------------


def stderr_paths_of(item: pytest.Item) -> list[Path]:
    """Return the list of server stderr files of a test, creating it on first use."""
    if not hasattr(item, "server_stderr_paths"):
        item.server_stderr_paths = []
    return item.server_stderr_paths


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    """Attach the stderr of every server a failed test started to its report."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    for log_path in getattr(item, "server_stderr_paths", []):
        try:
            lines = Path(log_path).read_text(errors="replace").splitlines()
        except OSError as error:
            lines = [f"(could not read {log_path}: {error})"]
        tail = "\n".join(lines[-STDERR_TAIL_LINES:])
        report.sections.append((f"server stderr {log_path}", tail))


# --- webhook receiver -----------------------------------------------------------


@dataclass
class ReceivedRequest:
    """One request as the receiver saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float  # time.monotonic() when the body had been read

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class ReceiverBehaviour:
    """Response of a receiver: a status code after an optional delay, or none at all.

    The first requests get the codes of `status_codes` in order, and every later
    request gets `status_code`. `respond`, when set, writes the whole response
    itself and is called with the handler and the 1-based request number.
    """

    status_code: int = 200
    status_codes: tuple[int, ...] = ()
    delay_seconds: float = 0.0
    hang: bool = False
    response_body: bytes = b'{"received": true}'
    response_headers: dict[str, str] = field(default_factory=dict)
    respond: Callable[[BaseHTTPRequestHandler, int], None] | None = None


class WebhookReceiver:
    """HTTP server on 127.0.0.1 that records every request, on `port` or else an ephemeral port.

    The standard library's ThreadingHTTPServer runs in a background thread, and
    each request gets its own handler thread, so a hanging response blocks no other request.
    """

    def __init__(self, behaviour: ReceiverBehaviour, port: int = 0) -> None:
        self.behaviour = behaviour
        self.requests: list[ReceivedRequest] = []
        self._condition = threading.Condition()
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (name fixed by http.server)
                receiver._handle(self)

            do_GET = do_PUT = do_PATCH = do_DELETE = do_POST  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/job-done"

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = _read_body(handler)
        request = ReceivedRequest(
            method=handler.command,
            path=handler.path,
            headers={name.lower(): value for name, value in handler.headers.items()},
            body=body,
            received_at=time.monotonic(),
        )
        with self._condition:
            self.requests.append(request)
            request_number = len(self.requests)
            self._condition.notify_all()

        behaviour = self.behaviour
        if behaviour.hang:
            # Send no response. The thread ends when the fixture closes the receiver.
            self._release.wait(HANDLER_HANG_LIMIT_SECONDS)
            handler.close_connection = True
            return
        if behaviour.delay_seconds:
            self._release.wait(behaviour.delay_seconds)
        if behaviour.respond is not None:
            behaviour.respond(handler, request_number)
            return
        status_code = behaviour.status_code
        if request_number <= len(behaviour.status_codes):
            status_code = behaviour.status_codes[request_number - 1]
        response_body = behaviour.response_body
        handler.send_response(status_code)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(response_body)))
        for name, value in behaviour.response_headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(response_body)

    async def wait_for_requests(self, count: int = 1, timeout: float = 15.0) -> list[ReceivedRequest]:
        """Wait until at least `count` requests arrived, and fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            with self._condition:
                if len(self.requests) >= count:
                    return list(self.requests)
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"webhook receiver got {len(self.requests)} of {count} expected requests within {timeout} s"
                )
            await anyio.sleep(0.05)

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """Read a request body sent with Content-Length or chunked transfer encoding."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        parts = []
        while True:
            size_line = handler.rfile.readline()
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline()
                return b"".join(parts)
            parts.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length", "0"))
    return handler.rfile.read(length) if length else b""


@pytest.fixture
def webhook_receiver() -> Iterator[Callable[..., WebhookReceiver]]:
    """Factory for webhook receivers: `webhook_receiver(status_code=500)`,
    `webhook_receiver(hang=True)`, `webhook_receiver(delay_seconds=2)` or
    `webhook_receiver(port=port, status_codes=(500, 500))`."""
    receivers: list[WebhookReceiver] = []

    def start(port: int = 0, **behaviour: Any) -> WebhookReceiver:
        receiver = WebhookReceiver(ReceiverBehaviour(**behaviour), port)
        receivers.append(receiver)
        return receiver

    yield start
    for receiver in receivers:
        receiver.close()


# --- the server under test ---------------------------------------------------------


@dataclass
class ServerSession:
    """A running mcp-code-index child process and the SDK client connected to it."""

    client: Client
    stderr_path: Path

    async def call(self, tool: str, arguments: dict[str, Any]) -> CallToolResult:
        with anyio.fail_after(REQUEST_TIMEOUT_SECONDS):
            return await self.client.call_tool(tool, arguments)

    async def call_ok(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Call a tool, assert it succeeded and return its structured content."""
        result = await self.call(tool, arguments)
        if result.is_error:
            raise AssertionError(f"{tool}({arguments!r}) failed: {result_text(result)}")
        assert isinstance(result.structured_content, dict), f"{tool} returned no structured content"
        return result.structured_content

    async def call_error(self, tool: str, arguments: dict[str, Any]) -> str:
        """Call a tool, assert it returned isError and return the error text."""
        result = await self.call(tool, arguments)
        assert result.is_error, f"{tool}({arguments!r}) succeeded but was expected to fail: {result}"
        return result_text(result)

    async def submit(self, job_type: str, user_id: str, metadata: dict[str, Any]) -> dict[str, Any]:
        return await self.call_ok("submit_job", {"job_type": job_type, "user_id": user_id, "metadata": metadata})

    async def job_status(self, job_id: str) -> dict[str, Any]:
        return await self.call_ok("get_job_status", {"job_id": job_id})

    async def wait_for_job(
        self,
        job_id: str,
        *,
        until: Callable[[dict[str, Any]], bool] = lambda job: job["status"] in FINAL_STATUSES,
        timeout: float = 30.0,
        interval: float = 0.05,
    ) -> dict[str, Any]:
        """Poll get_job_status until `until(job)` is true, and fail after `timeout` seconds.

        By default this waits for a final status (completed, failed or cancelled).
        """
        deadline = time.monotonic() + timeout
        while True:
            job = await self.job_status(job_id)
            if until(job):
                return job
            if time.monotonic() >= deadline:
                raise AssertionError(f"job {job_id} did not reach the expected state within {timeout} s; last: {job}")
            await anyio.sleep(interval)

    async def run_job(self, job_type: str, user_id: str, metadata: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
        """Submit a job and return its final get_job_status view."""
        submitted = await self.submit(job_type, user_id, metadata)
        return await self.wait_for_job(submitted["job_id"], timeout=timeout)

    async def search(self, user_id: str, query: str, limit: int = 10) -> dict[str, Any]:
        return await self.call_ok("search_code", {"user_id": user_id, "query": query, "limit": limit})


def result_text(result: CallToolResult) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


@pytest.fixture
def start_server(
    server_binary: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> Callable[..., Any]:
    """Factory for servers: `async with start_server("--webhook-timeout-secs", "2") as server:`.

    `env` adds environment variables to the server's (otherwise minimal) environment.

    Each server's stderr goes to a file under tmp_path, which is attached to the
    report when the test fails. `mode` is the SDK's connect mode: "auto" (the
    default, which negotiates the newest protocol) or "legacy" (initialize handshake).
    """
    counter = iter(range(1, 1000))
    stderr_paths = stderr_paths_of(request.node)

    @asynccontextmanager
    async def start(
        *args: str,
        mode: str = "auto",
        cwd: Path | None = None,
        data_dir: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> AsyncIterator[ServerSession]:
        stderr_path = tmp_path / f"server-{next(counter)}.stderr.log"
        stderr_paths.append(stderr_path)
        parameters = StdioServerParameters(
            command=str(server_binary),
            args=list(args),
            env={
                "RUST_LOG": "info,mcp_code_index=debug",
                # Servers of one test share a data directory unless `data_dir` is given,
                # so a restarted server sees the jobs and index of the one before.
                "MCP_CODE_INDEX_DATA_DIR": str(data_dir or tmp_path / "data"),
                **(env or {}),
            },
            cwd=str(cwd or tmp_path),
        )
        with stderr_path.open("w") as stderr_file:
            client = Client(
                stdio_client(parameters, errlog=stderr_file),
                mode=mode,
                read_timeout_seconds=REQUEST_TIMEOUT_SECONDS,
            )
            # Leaving the block closes stdin, which ends the session. If the
            # process does not exit, the SDK sends SIGTERM and then SIGKILL,
            # 2 s apart.
            async with client:
                yield ServerSession(client=client, stderr_path=stderr_path)

    return start


@pytest.fixture
def start_raw_server(
    server_binary: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., RawServer]]:
    """Factory for servers driven by raw JSON-RPC after the initialize handshake:
    `start_raw_server("--max-concurrent-jobs", "1")`. They use the same data
    directory as `start_server` by default, and any still running at teardown
    get SIGKILL."""
    counter = iter(range(1, 1000))
    stderr_paths = stderr_paths_of(request.node)
    servers: list[RawServer] = []
    stderr_files = []

    def start(*args: str, data_dir: Path | None = None) -> RawServer:
        stderr_path = tmp_path / f"raw-server-{next(counter)}.stderr.log"
        stderr_paths.append(stderr_path)
        stderr_file = stderr_path.open("wb")
        stderr_files.append(stderr_file)
        server = RawServer(
            server_binary,
            tmp_path,
            stderr_file,
            *args,
            data_dir=data_dir or tmp_path / "data",
            rust_log="info,mcp_code_index=debug",
        )
        servers.append(server)
        initialize(server)
        return server

    yield start
    for server in servers:
        server.kill()
    for stderr_file in stderr_files:
        stderr_file.close()
