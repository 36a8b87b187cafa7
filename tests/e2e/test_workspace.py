"""workspace_indexing jobs: the polyglot fixture, .gitignore handling and cancellation."""

from __future__ import annotations

from pathlib import Path

import pytest

from e2e_support import REPO_ROOT, top_hit_for_symbol, write_shipping_module

pytestmark = pytest.mark.anyio

USER = "workspace_user"
POLYGLOT = REPO_ROOT / "tests" / "fixtures" / "polyglot"

# Expected workspace_indexing result for tests/fixtures/polyglot.
# verified against the fixture by hand: 13 source files and README.md (a text
# file) are indexed, while .gitignore is hidden and generated/ is ignored by it.
POLYGLOT_FILES_PROCESSED = 14
POLYGLOT_FILES_SKIPPED = 0
# Sums of the per-file counts that tests/code_fixtures.rs pins for each fixture
# file (each checked by hand). The complexity score is the mean over all 88
# functions: 229 / 88, rounded to two decimals.
POLYGLOT_CHUNKS = 92
POLYGLOT_FUNCTIONS = 88
POLYGLOT_CLASSES = 31
POLYGLOT_COMPLEXITY = 2.6

LARGE_TREE_FILES = 3_000


def write_tree(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def write_large_tree(root: Path, count: int = LARGE_TREE_FILES) -> Path:
    """Write `count` small Python modules, 100 to a directory."""
    for index in range(count):
        directory = root / f"package_{index // 100:02d}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"module_{index:04d}.py").write_text(
            f"def handler_{index}(value):\n"
            f"    if value > {index}:\n"
            f"        return value - {index}\n"
            f"    return value + {index}\n"
        )
    return root


@pytest.mark.skipif(not POLYGLOT.is_dir(), reason="tests/fixtures/polyglot is not in this checkout")
async def test_polyglot_fixture_totals(start_server) -> None:
    async with start_server() as server:
        job = await server.run_job("workspace_indexing", USER, {"workspace_path": str(POLYGLOT)}, timeout=60)
        skipped = await server.search(USER, "skip me generated", limit=50)
        stats = await server.call_ok("get_collection_stats", {"user_id": USER})

    assert job["status"] == "completed", job
    result = job["result_data"]
    assert result["file_path"] == str(POLYGLOT)
    assert result["files_processed"] == POLYGLOT_FILES_PROCESSED
    assert result["files_skipped"] == POLYGLOT_FILES_SKIPPED
    assert job["progress"]["files_total"] == POLYGLOT_FILES_PROCESSED
    assert stats["files"] == POLYGLOT_FILES_PROCESSED
    assert all("/generated/" not in hit["path"] for hit in skipped["results"])
    assert len(result["vector_storage"]["vector_ids"]) == result["chunks_processed"]
    assert stats["live_chunks"] == result["chunks_processed"]
    assert result["chunks_processed"] == POLYGLOT_CHUNKS
    assert result["analysis_result"]["functions_found"] == POLYGLOT_FUNCTIONS
    assert result["analysis_result"]["classes_found"] == POLYGLOT_CLASSES
    assert result["analysis_result"]["complexity_score"] == pytest.approx(POLYGLOT_COMPLEXITY)
    indexed = [path for path in POLYGLOT.iterdir() if path.is_file() and not path.name.startswith(".")]
    assert job["metrics"]["file_size_bytes"] == sum(path.stat().st_size for path in indexed)


async def test_gitignored_files_not_indexed(start_server, tmp_path: Path) -> None:
    root = tmp_path / "workspace"
    indexed = {
        "src/app.py": (
            "class Application:\n"
            "    def run(self):\n"
            "        return 'running'\n"
            "\n"
            "\n"
            "def start_application():\n"
            "    return Application().run()\n"
        ),
        "src/util.js": "function formatCurrency(amount) {\n  return '$' + amount.toFixed(2);\n}\n",
        "nested/kept.rs": (
            "pub struct Counter {\n"
            "    value: u32,\n"
            "}\n"
            "\n"
            "pub fn increment_counter(counter: &mut Counter) {\n"
            "    counter.value += 1;\n"
            "}\n"
        ),
        "notes.md": "# Notes\n\nThe workspace keeps an application and a counter.\n",
    }
    ignored = {
        ".gitignore": "build/\nsecret_settings.py\n*.generated.js\n",
        "build/output.py": "def build_output_must_not_appear():\n    return 1\n",
        "secret_settings.py": "def secret_settings_must_not_appear():\n    return 2\n",
        "src/bundle.generated.js": "function generatedBundleMustNotAppear() { return 3; }\n",
        "nested/.gitignore": "local_only.py\n",
        "nested/local_only.py": "def local_only_must_not_appear():\n    return 4\n",
        ".hidden/tool.py": "def hidden_tool_must_not_appear():\n    return 5\n",
    }
    write_tree(root, indexed)
    write_tree(root, ignored)
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))

    async with start_server() as server:
        job = await server.run_job("workspace_indexing", USER, {"workspace_path": str(root)})
        search = await server.search(USER, "must not appear", limit=100)
        hit_search = await server.search(USER, "increment counter value")
        stats = await server.call_ok("get_collection_stats", {"user_id": USER})

    assert job["status"] == "completed", job
    result = job["result_data"]
    assert result["file_path"] == str(root)
    assert result["files_processed"] == len(indexed)
    assert result["files_skipped"] == 0
    assert job["progress"]["files_total"] == len(indexed)
    assert result["analysis_result"]["functions_found"] == 4
    assert result["analysis_result"]["classes_found"] == 2
    assert job["metrics"]["file_size_bytes"] == sum((root / name).stat().st_size for name in indexed)
    assert job["metrics"]["chunks_count"] == result["chunks_processed"]
    assert stats["files"] == len(indexed)

    indexed_paths = {str(root / name) for name in indexed}
    assert {hit["path"] for hit in search["results"]} <= indexed_paths
    assert all("must_not_appear" not in hit["snippet"] for hit in search["results"])
    hit = top_hit_for_symbol(hit_search["results"], "increment_counter")
    assert hit["path"] == str(root / "nested" / "kept.rs")
    assert (hit["start_line"], hit["end_line"]) == (5, 7)
    assert hit["language"] == "rust"


async def test_cancel_running_workspace_job(start_server, webhook_receiver, tmp_path: Path) -> None:
    receiver = webhook_receiver()
    root = write_large_tree(tmp_path / "large")
    async with start_server() as server:
        submitted = await server.submit(
            "workspace_indexing", USER, {"workspace_path": str(root), "webhook_url": receiver.url}
        )
        job_id = submitted["job_id"]
        running = await server.wait_for_job(
            job_id,
            until=lambda job: job["status"] != "queued" and job["progress"]["files_processed"] >= 1,
            interval=0.02,
        )
        assert running["status"] == "running", f"the job ended before it could be cancelled: {running}"
        cancel = await server.call_ok("cancel_job", {"job_id": job_id})
        job = await server.wait_for_job(job_id)
        [request] = await receiver.wait_for_requests(1)
        again = await server.call_ok("cancel_job", {"job_id": job_id})

    assert cancel["job_id"] == job_id
    assert cancel["cancelled"] is True
    assert cancel["status"] in ("running", "cancelled")
    assert job["status"] == "cancelled"
    assert job["success"] is False
    assert job["result_data"] is None
    assert job["progress"]["files_total"] == LARGE_TREE_FILES
    assert job["progress"]["files_processed"] < LARGE_TREE_FILES
    assert again["cancelled"] is False
    assert again["status"] == "cancelled"

    payload = request.json()
    assert payload["job_id"] == job_id
    assert payload["status"] == "cancelled"
    assert payload["success"] is False
    assert payload["result_data"] is None
    assert "error" not in payload


async def test_cancel_queued_job(start_server, webhook_receiver, tmp_path: Path) -> None:
    receiver = webhook_receiver()
    root = write_large_tree(tmp_path / "large")
    path = write_shipping_module(tmp_path)
    async with start_server("--max-concurrent-jobs", "1") as server:
        blocker = await server.submit("workspace_indexing", USER, {"workspace_path": str(root)})
        queued = await server.submit("file_processing", USER, {"file_path": str(path), "webhook_url": receiver.url})
        before = await server.job_status(queued["job_id"])
        cancel = await server.call_ok("cancel_job", {"job_id": queued["job_id"]})
        job = await server.job_status(queued["job_id"])
        [request] = await receiver.wait_for_requests(1)
        await server.call_ok("cancel_job", {"job_id": blocker["job_id"]})
        blocker_job = await server.wait_for_job(blocker["job_id"])

    assert before["status"] == "queued", f"the blocker job did not keep the second job queued: {before}"
    assert cancel["cancelled"] is True
    assert cancel["status"] == "cancelled"
    assert job["status"] == "cancelled"
    assert job["started_at"] is None
    assert job["result_data"] is None
    assert job["progress"]["files_processed"] == 0
    assert request.json()["status"] == "cancelled"
    assert request.json()["job_id"] == queued["job_id"]
    assert blocker_job["status"] == "cancelled"


async def test_cancel_finished_job_changes_nothing(start_server, tmp_path: Path) -> None:
    path = write_shipping_module(tmp_path)
    async with start_server() as server:
        job = await server.run_job("file_processing", USER, {"file_path": str(path)})
        cancel = await server.call_ok("cancel_job", {"job_id": job["job_id"]})
        after = await server.job_status(job["job_id"])

    assert cancel["cancelled"] is False
    assert cancel["status"] == "completed"
    assert "completed" in cancel["message"]
    assert after["status"] == "completed"
