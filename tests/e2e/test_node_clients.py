"""The server driven by Node clients: the TypeScript MCP SDK and the MCP Inspector CLI.

scripts/test.sh installs both with `npm ci` in tests/e2e/node before pytest runs.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from e2e_support import (
    SHIPPING_FUNCTIONS,
    SHIPPING_MODULE,
    TOOLS,
    line_range,
    top_hit_for_symbol,
    write_shipping_module,
)

NODE_DIR = Path(__file__).resolve().parent / "node"
# NOTE: Inspector 2.12.0 declares Node >= 22.19 in its engines field. The two
# commands used here were only run on Node 20.20.2, where they work.
INSPECTOR = NODE_DIR / "node_modules" / ".bin" / "mcp-inspector"
# Exit code of the Inspector CLI when a tool call returns isError (EXIT_CODES.TOOL_ERROR in 2.12.0).
INSPECTOR_TOOL_ERROR_EXIT = 5


@pytest.fixture(scope="module")
def node_modules() -> Path:
    sdk = NODE_DIR / "node_modules" / "@modelcontextprotocol" / "sdk"
    if not sdk.is_dir() or not INSPECTOR.exists():
        pytest.fail(f"Node packages missing in {NODE_DIR}; run `npm ci` there (scripts/test.sh does)")
    return NODE_DIR / "node_modules"


def inspector_env(tmp_path: Path) -> dict[str, str]:
    """Environment that keeps the Inspector's catalog and config files under tmp_path."""
    home = tmp_path / "inspector-home"
    home.mkdir(exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "MCP_CATALOG_PATH": str(home / "mcp.json"),
        "MCP_CLIENT_CONFIG_PATH": str(home / "client.json"),
        "NO_COLOR": "1",
        "CI": "1",
    }


def run_inspector(server_binary: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(INSPECTOR), "--cli", str(server_binary), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=inspector_env(tmp_path),
        check=False,
    )


def test_typescript_sdk_indexes_and_searches(node_modules: Path, server_binary: Path, tmp_path: Path) -> None:
    path = write_shipping_module(tmp_path)
    stderr_log = tmp_path / "node-server.stderr.log"
    completed = subprocess.run(
        [
            "node",
            str(NODE_DIR / "index_and_search.mjs"),
            str(server_binary),
            str(path),
            "ts_user",
            "normalize postal code",
            str(stderr_log),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "MCP_CODE_INDEX_DATA_DIR": str(tmp_path / "data")},
        check=False,
    )
    assert completed.returncode == 0, (
        f"node exited {completed.returncode}\nstderr:\n{completed.stderr}\n"
        f"server stderr:\n{stderr_log.read_text(errors='replace') if stderr_log.exists() else ''}"
    )
    output = json.loads(completed.stdout)

    assert output["protocolVersion"] == "2025-11-25"
    assert output["serverVersion"]["name"] == "mcp-code-index"
    tools = {tool["name"]: tool for tool in output["tools"]}
    assert set(tools) == TOOLS
    assert all(tool["hasOutputSchema"] for tool in tools.values())
    assert tools["search_code"]["readOnlyHint"] is True
    assert output["submitted"]["status"] == "queued"
    job = output["job"]
    assert job["job_id"] == output["submitted"]["job_id"]
    assert job["status"] == "completed"
    assert job["metadata"] == {"file_path": str(path), "source": "typescript-sdk"}
    assert job["result_data"]["analysis_result"]["functions_found"] == SHIPPING_FUNCTIONS
    hit = top_hit_for_symbol(output["search"]["results"], "normalize_postal_code")
    assert hit["path"] == str(path)
    expected_lines = line_range(SHIPPING_MODULE, "def normalize_postal_code(raw_code):", "return cleaned")
    assert (hit["start_line"], hit["end_line"]) == expected_lines


def test_inspector_lists_tools(node_modules: Path, server_binary: Path, tmp_path: Path) -> None:
    completed = run_inspector(server_binary, tmp_path, "--method", "tools/list", "--format", "json")
    assert completed.returncode == 0, f"exit {completed.returncode}\nstdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"
    listing = json.loads(completed.stdout)["result"]
    tools = {tool["name"]: tool for tool in listing["tools"]}
    assert set(tools) == TOOLS
    assert all(tool["inputSchema"]["type"] == "object" for tool in tools.values())
    assert all("outputSchema" in tool for tool in tools.values()), "a tool has no outputSchema"


def test_inspector_tool_error_exit_code(node_modules: Path, server_binary: Path, tmp_path: Path) -> None:
    completed = run_inspector(
        server_binary,
        tmp_path,
        "--method",
        "tools/call",
        "--tool-name",
        "get_collection_stats",
        "--tool-arg",
        "user_id=nobody_here",
        "--format",
        "json",
    )
    assert completed.returncode == INSPECTOR_TOOL_ERROR_EXIT, (
        f"exit {completed.returncode}\nstdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"
    )
    result = json.loads(completed.stdout)["result"]
    assert result["isError"] is True
    assert "nobody_here_code" in result["content"][0]["text"]
