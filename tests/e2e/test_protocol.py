"""The MCP surface: the tool list, stdout framing, shutdown on end of input and
both connect modes of the Python SDK."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, KNOWN_PROTOCOL_VERSIONS

from e2e_support import (
    LEGACY_PROTOCOL_VERSION,
    READ_ONLY_TOOLS,
    SHIPPING_FUNCTIONS,
    TOOLS,
    RawServer,
    initialize,
    write_shipping_module,
)

pytestmark = pytest.mark.anyio



async def test_tools_list_complete(start_server) -> None:
    async with start_server() as server:
        listing = await server.client.list_tools()
        protocol_version = server.client.protocol_version

    assert protocol_version in KNOWN_PROTOCOL_VERSIONS
    tools = {tool.name: tool for tool in listing.tools}
    assert set(tools) == TOOLS
    for name, tool in tools.items():
        assert tool.description and len(tool.description) > 20, f"{name} has no useful description"
        assert tool.input_schema.get("type") == "object", f"{name} input schema: {tool.input_schema}"
        assert isinstance(tool.output_schema, dict), f"{name} has no outputSchema"
        assert tool.output_schema.get("type") == "object", f"{name} outputSchema: {tool.output_schema}"
        assert tool.annotations is not None, f"{name} has no annotations"
        expected_read_only = name in READ_ONLY_TOOLS
        assert tool.annotations.read_only_hint is expected_read_only, (
            f"{name} readOnlyHint is {tool.annotations.read_only_hint}, expected {expected_read_only}"
        )

    submit_schema = tools["submit_job"].input_schema
    assert set(submit_schema.get("required", [])) >= {"job_type", "user_id"}
    job_type = submit_schema["properties"]["job_type"]
    assert set(job_type.get("enum", [])) == {"file_processing", "workspace_indexing", "file_removal"}
    assert "metadata" in submit_schema["properties"]
    for tool_name in ("get_job_status", "cancel_job"):
        assert tools[tool_name].input_schema.get("required") == ["job_id"]
    assert set(tools["search_code"].input_schema.get("required", [])) == {"user_id", "query"}


async def test_legacy_mode_session_works(start_server, tmp_path: Path) -> None:
    path = write_shipping_module(tmp_path)
    async with start_server(mode="legacy") as server:
        protocol_version = server.client.protocol_version
        server_info = server.client.server_info
        listing = await server.client.list_tools()
        job = await server.run_job("file_processing", "legacy_user", {"file_path": str(path)})

    assert protocol_version in HANDSHAKE_PROTOCOL_VERSIONS
    assert server_info is not None
    assert server_info.name == "mcp-code-index"
    assert {tool.name for tool in listing.tools} == TOOLS
    assert job["status"] == "completed"
    assert job["result_data"]["analysis_result"]["functions_found"] == SHIPPING_FUNCTIONS


@pytest.fixture
def raw_server(server_binary: Path, tmp_path: Path, request: pytest.FixtureRequest):
    stderr_path = tmp_path / "raw-server.stderr.log"
    request.node.server_stderr_paths = [stderr_path]
    with stderr_path.open("wb") as stderr:
        server = RawServer(server_binary, tmp_path, stderr, data_dir=tmp_path / "data")
        try:
            yield server
        finally:
            server.kill()


def test_stdout_carries_only_jsonrpc(raw_server: RawServer, tmp_path: Path) -> None:
    path = write_shipping_module(tmp_path)
    init = initialize(raw_server)
    raw_server.send({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    tools = raw_server.response(2)
    raw_server.send(
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {
                "name": "submit_job",
                "arguments": {"job_type": "file_processing", "user_id": "raw_user", "metadata": {"file_path": str(path)}},
            },
        }
    )
    submitted = raw_server.response(3)
    job_id = submitted["result"]["structuredContent"]["job_id"]
    status: dict[str, Any] = {}
    for attempt in range(200):
        raw_server.send(
            {
                "jsonrpc": "2.0",
                "id": 100 + attempt,
                "method": "tools/call",
                "params": {"name": "get_job_status", "arguments": {"job_id": job_id}},
            }
        )
        status = raw_server.response(100 + attempt)["result"]["structuredContent"]
        if status["status"] == "completed":
            break
        time.sleep(0.05)
    raw_server.send(
        {
            "jsonrpc": "2.0",
            "id": 4,
            "method": "tools/call",
            "params": {"name": "get_collection_stats", "arguments": {"user_id": "nobody_here"}},
        }
    )
    error_result = raw_server.response(4)
    exit_code = raw_server.close_stdin_and_wait(timeout=10)
    stderr_text = (tmp_path / "raw-server.stderr.log").read_text(errors="replace")

    assert init["result"]["protocolVersion"] == LEGACY_PROTOCOL_VERSION
    assert init["result"]["serverInfo"]["name"] == "mcp-code-index"
    assert len(tools["result"]["tools"]) == len(TOOLS)
    assert status["status"] == "completed"
    assert error_result["result"]["isError"] is True
    assert exit_code == 0
    assert "job started" in stderr_text, "the server logs to stderr"

    assert raw_server.lines, "the server wrote nothing to stdout"
    for line in raw_server.lines:
        assert line.endswith(b"\n"), f"stdout line without a line break: {line[:200]!r}"
        message = json.loads(line)
        assert message.get("jsonrpc") == "2.0", f"not a JSON-RPC message: {line[:200]!r}"
        assert ("id" in message) or ("method" in message), f"not a JSON-RPC message: {line[:200]!r}"


def test_stdin_close_exits_zero(raw_server: RawServer) -> None:
    initialize(raw_server)
    started = time.monotonic()
    exit_code = raw_server.close_stdin_and_wait(timeout=10)
    elapsed = time.monotonic() - started

    assert exit_code == 0
    assert elapsed < 3, f"the server took {elapsed:.1f} s to exit after stdin closed"


def test_stdin_close_before_initialize_exits(raw_server: RawServer) -> None:
    started = time.monotonic()
    exit_code = raw_server.close_stdin_and_wait(timeout=10)
    elapsed = time.monotonic() - started

    assert exit_code in (0, 1), f"exit code {exit_code}"
    assert elapsed < 3
