"""Durable state in the data directory: recovery after SIGKILL, incremental
re-indexing, rebuilding damaged graph dumps, the data directory lock, jobs
that outlive a restart and webhook retries from the outbox."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from e2e_support import FINAL_STATUSES, REPO_ROOT, top_hit_for_symbol, unused_local_port, write_shipping_module
from test_workspace import write_large_tree

pytestmark = pytest.mark.anyio

USER = "durable_user"
POLYGLOT = REPO_ROOT / "tests" / "fixtures" / "polyglot"

# Large enough that the workspace job is still running when the server is
# killed. The debug build indexed 100 to 200 of these one-function files per
# second when this suite ran on a loaded 2-core machine.
CRASH_TREE_FILES = 2_000
# Files the interrupted job must have indexed before the kill, so the restarted
# run has unchanged files to skip.
FILES_BEFORE_KILL = 150
# Delays between webhook attempts in the crash test: one second each, and enough
# of them that the first server never runs out while the receiver fails.
CRASH_RETRY_SCHEDULE = ",".join(["1s"] * 30)
RESTARTED_WARNING = "the server stopped while this job ran; it was restarted"

# One function per file, with names made of distinct words so that a search
# for the words finds exactly that function.
REINDEX_FUNCTIONS = {
    "billing.py": "compute_invoice_total",
    "geometry.py": "rotate_polygon_vertices",
    "hosts.py": "resolve_hostname_alias",
    "text.py": "tokenize_sentence_words",
    "storage.py": "compress_archive_blocks",
    "meetings.py": "schedule_weekly_meeting",
    "audio.py": "normalize_audio_volume",
    "inventory.py": "restock_warehouse_shelves",
    "keys.py": "derive_session_key",
    "weather.py": "forecast_rainfall_amount",
}
CHANGED_FILE = "billing.py"
CHANGED_FUNCTION = "refund_customer_payment"
DELETED_FILE = "weather.py"
ADDED_FILE = "garden.py"
ADDED_FUNCTION = "water_tomato_plants"

GRAPH_QUERIES = ["parse tokens", "matrix multiply", "shopping cart total", "priority queue push", "route request"]
GRAPH_TOP_RESULTS = 5


def python_function(name: str) -> str:
    return f"def {name}(items, factor):\n    total = 0\n    for item in items:\n        total += item * factor\n    return total\n"


def write_reindex_tree(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for file_name, function in REINDEX_FUNCTIONS.items():
        (root / file_name).write_text(python_function(function))


def has_delivery(job: dict[str, Any]) -> bool:
    return bool(job["webhook"] and job["webhook"]["deliveries"])


def deliveries_of(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job["webhook"]["deliveries"]


def symbols_of(search: dict[str, Any]) -> set[str | None]:
    return {hit["symbol"] for hit in search["results"]}


# --- crash recovery -----------------------------------------------------------------


async def test_sigkill_jobs_resume_and_notify(
    start_raw_server, start_server, webhook_receiver, tmp_path: Path
) -> None:
    # Returns 503 until the test switches it to 200 after the kill, so the
    # finished job's webhook is still pending in the outbox when the server dies.
    receiver = webhook_receiver(status_code=503)
    large = write_large_tree(tmp_path / "large", CRASH_TREE_FILES)
    small = tmp_path / "small"
    small.mkdir()
    shipping = write_shipping_module(small)
    retry_flags = ("--webhook-retry-schedule", CRASH_RETRY_SCHEDULE)

    first = start_raw_server("--max-concurrent-jobs", "1", *retry_flags)
    finished = first.submit("file_processing", USER, {"file_path": str(shipping), "webhook_url": receiver.url})
    finished_job = first.wait_for_job(finished["job_id"], until=has_delivery)
    await receiver.wait_for_requests(1)
    running = first.submit("workspace_indexing", USER, {"workspace_path": str(large), "webhook_url": receiver.url})
    running_job = first.wait_for_job(
        running["job_id"],
        until=lambda job: job["progress"]["files_processed"] >= FILES_BEFORE_KILL or job["status"] in FINAL_STATUSES,
        timeout=30,
        interval=0.1,
    )
    queued = first.submit("file_processing", USER, {"file_path": str(shipping), "webhook_url": receiver.url})
    queued_job = first.job_status(queued["job_id"])
    running_job = first.job_status(running["job_id"])
    first.kill()
    exit_code = first.process.returncode

    assert finished_job["status"] == "completed"
    assert deliveries_of(finished_job)[0]["status_code"] == 503
    assert running_job["status"] == "running", f"the workspace job was not running at the kill: {running_job}"
    assert running_job["progress"]["files_processed"] < CRASH_TREE_FILES
    assert queued_job["status"] == "queued"
    assert exit_code == -9

    receiver.behaviour.status_code = 200
    job_ids = [finished["job_id"], running["job_id"], queued["job_id"]]
    async with start_server("--max-concurrent-jobs", "1", *retry_flags) as second:
        jobs = {job_id: await second.wait_for_job(job_id, timeout=60, interval=0.25) for job_id in job_ids}
        jobs = {
            job_id: await second.wait_for_job(
                job_id,
                until=lambda job: any(record["outcome"] == "delivered" for record in deliveries_of(job)),
                timeout=15,
            )
            for job_id in job_ids
        }
        stats = await second.call_ok("get_collection_stats", {"user_id": USER})

    for job_id in job_ids:
        assert jobs[job_id]["status"] == "completed", jobs[job_id]
    resumed = jobs[running["job_id"]]
    result = resumed["result_data"]
    assert RESTARTED_WARNING in resumed["warnings"]
    assert result["files_processed"] + result["files_unchanged"] == CRASH_TREE_FILES
    assert result["files_unchanged"] >= running_job["progress"]["files_processed"]
    assert RESTARTED_WARNING not in jobs[queued["job_id"]]["warnings"]
    # One chunk per generated file plus the shipping module's chunks: a crash in
    # the middle of the job leaves no duplicate chunks.
    assert stats["files"] == CRASH_TREE_FILES + 1
    assert stats["live_chunks"] == CRASH_TREE_FILES + jobs[finished["job_id"]]["result_data"]["chunks_processed"]

    by_job: dict[str, list[Any]] = {}
    for request in receiver.requests:
        by_job.setdefault(request.json()["job_id"], []).append(request)
    assert set(by_job) == set(job_ids)
    assert len(by_job[finished["job_id"]]) >= 2, "the finished job's webhook was retried after the restart"
    webhook_ids = set()
    for job_id, requests in by_job.items():
        ids = {request.headers["webhook-id"] for request in requests}
        assert len(ids) == 1, f"job {job_id} was sent with different webhook-id headers: {ids}"
        assert {request.json()["job_id"] for request in requests} == {job_id}
        assert {request.json()["status"] for request in requests} == {"completed"}
        webhook_ids |= ids
        delivered = [record for record in deliveries_of(jobs[job_id]) if record["outcome"] == "delivered"]
        assert len(delivered) >= 1
        assert {record["message_id"] for record in deliveries_of(jobs[job_id])} == ids
    assert len(webhook_ids) == len(job_ids), "two jobs share a webhook-id"


async def test_shutdown_interrupt_resumes_job(start_server, webhook_receiver, tmp_path: Path) -> None:
    receiver = webhook_receiver()
    file_count = 600
    root = write_large_tree(tmp_path / "large", file_count)
    metadata = {"workspace_path": str(root), "webhook_url": receiver.url}
    # With no grace period, shutdown interrupts the job at its next file.
    async with start_server("--shutdown-grace-secs", "0") as server:
        submitted = await server.submit("workspace_indexing", USER, metadata)
        running = await server.wait_for_job(
            submitted["job_id"],
            until=lambda job: job["progress"]["files_processed"] >= 50 or job["status"] in FINAL_STATUSES,
        )

    async with start_server() as server:
        resumed = await server.wait_for_job(submitted["job_id"], timeout=60, interval=0.25)
        await receiver.wait_for_requests(1)
        # Time for a second, wrong webhook to arrive.
        await anyio.sleep(0.3)

    assert running["status"] == "running", running
    assert resumed["status"] == "completed", resumed
    assert RESTARTED_WARNING in resumed["warnings"]
    result = resumed["result_data"]
    assert result["files_processed"] + result["files_unchanged"] == file_count
    assert result["files_unchanged"] >= running["progress"]["files_processed"]
    assert [request.json()["status"] for request in receiver.requests] == ["completed"]


# --- incremental re-indexing --------------------------------------------------------


@pytest.mark.parametrize("restart", [False, True], ids=["one_process", "restart_between_runs"])
async def test_reindex_skips_unchanged_files(start_server, tmp_path: Path, restart: bool) -> None:
    root = tmp_path / "workspace"
    write_reindex_tree(root)
    file_count = len(REINDEX_FUNCTIONS)
    metadata = {"workspace_path": str(root)}
    outputs: dict[str, dict[str, Any]] = {}

    async def index_first(server) -> None:
        outputs["first"] = await server.run_job("workspace_indexing", USER, metadata)

    async def index_unchanged(server) -> None:
        outputs["second"] = await server.run_job("workspace_indexing", USER, metadata)
        outputs["second_stats"] = await server.call_ok("get_collection_stats", {"user_id": USER})

    async def index_edited(server) -> None:
        (root / CHANGED_FILE).write_text(python_function(CHANGED_FUNCTION))
        (root / DELETED_FILE).unlink()
        (root / ADDED_FILE).write_text(python_function(ADDED_FUNCTION))
        outputs["third"] = await server.run_job("workspace_indexing", USER, metadata)
        outputs["everything"] = await server.search(USER, "items factor total", limit=100)
        outputs["changed"] = await server.search(USER, "refund customer payment")
        outputs["added"] = await server.search(USER, "water tomato plants")
        outputs["stats"] = await server.call_ok("get_collection_stats", {"user_id": USER})

    steps = [index_first, index_unchanged, index_edited]
    # Every step in a server process of its own, or all of them in one.
    sessions = [[step] for step in steps] if restart else [steps]
    for session_steps in sessions:
        async with start_server() as server:
            for step in session_steps:
                await step(server)
    first, second, third = outputs["first"], outputs["second"], outputs["third"]
    second_stats, everything, stats = outputs["second_stats"], outputs["everything"], outputs["stats"]
    changed, added = outputs["changed"], outputs["added"]

    for job in (first, second, third):
        assert job["status"] == "completed", job
    assert first["result_data"]["files_processed"] == file_count
    assert first["result_data"]["chunks_processed"] == file_count

    result = second["result_data"]
    assert result["chunks_processed"] == 0
    assert result["files_processed"] == 0
    assert result["files_unchanged"] == file_count
    assert result["files_removed"] == 0
    assert result["vector_storage"]["vector_ids"] == []
    assert result["vector_storage"]["embeddings_generated"] == 0
    assert result["analysis_result"] == first["result_data"]["analysis_result"]
    assert second["metrics"]["file_size_bytes"] == first["metrics"]["file_size_bytes"]
    assert second_stats["live_chunks"] == file_count
    assert second_stats["tombstones"] == 0, "an unchanged file was embedded again"

    result = third["result_data"]
    assert result["files_processed"] == 2
    assert result["files_unchanged"] == file_count - 2
    assert result["files_removed"] == 1
    assert result["files_skipped"] == 0
    assert result["chunks_processed"] == 2
    assert len(result["vector_storage"]["vector_ids"]) == 2
    assert result["analysis_result"]["functions_found"] == file_count

    replaced_function = REINDEX_FUNCTIONS[CHANGED_FILE]
    deleted_function = REINDEX_FUNCTIONS[DELETED_FILE]
    expected_symbols = set(REINDEX_FUNCTIONS.values()) - {replaced_function, deleted_function}
    expected_symbols |= {CHANGED_FUNCTION, ADDED_FUNCTION}
    assert replaced_function not in symbols_of(everything)
    assert deleted_function not in symbols_of(everything)
    assert symbols_of(everything) == expected_symbols
    assert everything["total_chunks"] == file_count
    assert all(hit["path"] != str(root / DELETED_FILE) for hit in everything["results"])
    assert top_hit_for_symbol(changed["results"], CHANGED_FUNCTION, within=1)["path"] == str(root / CHANGED_FILE)
    assert top_hit_for_symbol(added["results"], ADDED_FUNCTION, within=1)["path"] == str(root / ADDED_FILE)
    assert stats["files"] == file_count
    assert stats["live_chunks"] == file_count


# --- graph dumps ----------------------------------------------------------------------


def damage_graph(graph_dir: Path, damage: str) -> None:
    if damage == "deleted":
        shutil.rmtree(graph_dir)
    elif damage == "flipped_data_bytes":
        data = graph_dir / "graph.hnsw.data"
        content = bytearray(data.read_bytes())
        for offset in range(len(content) // 2, len(content) // 2 + 16):
            content[offset] ^= 0xFF
        data.write_bytes(bytes(content))
    elif damage == "truncated_graph":
        graph = graph_dir / "graph.hnsw.graph"
        graph.write_bytes(graph.read_bytes()[: graph.stat().st_size // 3])
    else:
        assert damage == "intact", damage


async def search_top_results(server) -> dict[str, list[tuple[str, str | None, str]]]:
    """Return the top (path, symbol, vector id) triples of every query in GRAPH_QUERIES."""
    tops = {}
    for query in GRAPH_QUERIES:
        search = await server.search(USER, query, limit=GRAPH_TOP_RESULTS)
        tops[query] = [(hit["path"], hit["symbol"], hit["vector_id"]) for hit in search["results"]]
    return tops


@pytest.mark.skipif(not POLYGLOT.is_dir(), reason="tests/fixtures/polyglot is not in this checkout")
@pytest.mark.parametrize("damage", ["intact", "deleted", "flipped_data_bytes", "truncated_graph"])
async def test_damaged_graph_rebuilt_from_database(start_server, tmp_path: Path, damage: str) -> None:
    graph_dir = tmp_path / "data" / "graphs" / f"{USER}_code"
    async with start_server() as server:
        job = await server.run_job("workspace_indexing", USER, {"workspace_path": str(POLYGLOT)}, timeout=60)
        before = await search_top_results(server)
    saved_files = sorted(path.name for path in graph_dir.iterdir())

    damage_graph(graph_dir, damage)
    async with start_server() as server:
        after = await search_top_results(server)
        stats = await server.call_ok("get_collection_stats", {"user_id": USER})
    log = server.stderr_path.read_text(errors="replace")

    assert job["status"] == "completed", job
    assert saved_files == ["graph.hnsw.data", "graph.hnsw.graph", "meta.json"], "no graph was saved at shutdown"
    for query in GRAPH_QUERIES:
        assert len(before[query]) == GRAPH_TOP_RESULTS, f"too few results for {query!r}: {before[query]}"
        assert after[query] == before[query], f"results for {query!r} changed"
    assert stats["live_chunks"] == job["result_data"]["chunks_processed"]
    assert stats["tombstones"] == 0
    if damage == "intact":
        assert "loaded saved graph" in log
        assert "rebuilding graph" not in log
    else:
        assert "rebuilding graph from the database" in log
        assert "loaded saved graph" not in log
        assert (graph_dir / "meta.json").is_file(), "the rebuilt graph was not saved at shutdown"
    if damage in ("flipped_data_bytes", "truncated_graph"):
        assert "checksum mismatch" in log


async def test_stale_graph_rebuilt_after_kill(start_server, start_raw_server, tmp_path: Path) -> None:
    root = tmp_path / "workspace"
    write_reindex_tree(root)
    added = root / ADDED_FILE
    added.write_text(python_function(ADDED_FUNCTION))
    async with start_server() as server:
        await server.run_job("workspace_indexing", USER, {"workspace_path": str(root)})
        before = await server.search(USER, "water tomato plants")
    saved_meta = (tmp_path / "data" / "graphs" / f"{USER}_code" / "meta.json").read_bytes()

    # The change reaches SQLite, but the kill comes long before the periodic
    # graph save, so the saved graph is one generation behind.
    added.write_text(python_function(CHANGED_FUNCTION))
    killed = start_raw_server()
    job = killed.wait_for_job(killed.submit("file_processing", USER, {"file_path": str(added)})["job_id"])
    killed.kill()
    meta_at_kill = (tmp_path / "data" / "graphs" / f"{USER}_code" / "meta.json").read_bytes()

    async with start_server() as server:
        changed = await server.search(USER, "refund customer payment")
        removed = await server.search(USER, "water tomato plants", limit=100)
    log = server.stderr_path.read_text(errors="replace")

    assert job["status"] == "completed"
    assert top_hit_for_symbol(before["results"], ADDED_FUNCTION, within=1)["path"] == str(added)
    assert meta_at_kill == saved_meta
    assert "saved graph is stale" in log
    assert "rebuilding graph from the database" in log
    assert top_hit_for_symbol(changed["results"], CHANGED_FUNCTION, within=1)["path"] == str(added)
    assert ADDED_FUNCTION not in symbols_of(removed)


# --- the data directory lock ----------------------------------------------------------


async def test_second_server_on_data_dir_exits(start_server, server_binary: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    stderr_path = tmp_path / "second-server.stderr.log"
    async with start_server(data_dir=data_dir) as server:
        started = time.monotonic()
        with stderr_path.open("wb") as stderr_file:
            # stdin stays open, so only the lock can make this process exit.
            second = subprocess.Popen(
                [str(server_binary)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=stderr_file,
                cwd=tmp_path,
                env={"PATH": "/usr/bin:/bin", "MCP_CODE_INDEX_DATA_DIR": str(data_dir)},
            )
            try:
                exit_code = second.wait(timeout=10)
            except subprocess.TimeoutExpired:
                second.kill()
                second.wait(timeout=5)
                exit_code = None
            finally:
                assert second.stdin is not None
                second.stdin.close()
        elapsed = time.monotonic() - started
        first_still_serves = await server.call_ok("list_jobs", {})
    message = stderr_path.read_text(errors="replace")
    async with start_server(data_dir=data_dir) as after_release:
        after_release_serves = await after_release.call_ok("list_jobs", {})

    assert exit_code is not None, "the second server was still running after 10 s"
    assert exit_code != 0
    assert elapsed < 5, f"the second server took {elapsed:.1f} s to exit"
    assert str(data_dir) in message, message
    assert "in use" in message, message
    assert first_still_serves == {"jobs": []}
    assert after_release_serves == {"jobs": []}


# --- jobs across a clean restart ------------------------------------------------------


async def test_jobs_survive_clean_restart(start_server, webhook_receiver, tmp_path: Path) -> None:
    receiver = webhook_receiver()
    path = write_shipping_module(tmp_path)
    async with start_server() as server:
        submitted = await server.submit("file_processing", USER, {"file_path": str(path), "webhook_url": receiver.url})
        completed = await server.wait_for_job(submitted["job_id"], until=has_delivery)
        failed = await server.run_job("file_processing", USER, {"file_path": str(tmp_path / "missing.py")})

    async with start_server() as server:
        completed_after = await server.job_status(completed["job_id"])
        failed_after = await server.job_status(failed["job_id"])
        listing = await server.call_ok("list_jobs", {"user_id": USER})
        # Time for the notifier's first outbox scan, which must send nothing.
        await anyio.sleep(0.5)

    assert completed["status"] == "completed"
    assert failed["status"] == "failed"
    assert completed_after == completed
    assert failed_after == failed
    [delivery] = deliveries_of(completed_after)
    assert delivery["outcome"] == "delivered"
    assert delivery["status_code"] == 200
    statuses = {job["job_id"]: job["status"] for job in listing["jobs"]}
    assert statuses == {completed["job_id"]: "completed", failed["job_id"]: "failed"}
    assert [job["job_id"] for job in listing["jobs"]] == [failed["job_id"], completed["job_id"]], "newest first"
    assert len(receiver.requests) == 1, "a delivered webhook was sent again after the restart"


# --- webhook retries ------------------------------------------------------------------


async def test_retries_until_delivered(start_server, webhook_receiver, tmp_path: Path) -> None:
    receiver = webhook_receiver(status_codes=(500, 500))
    path = write_shipping_module(tmp_path)
    async with start_server("--webhook-retry-schedule", "1s,1s,1s") as server:
        submitted = await server.submit("file_processing", USER, {"file_path": str(path), "webhook_url": receiver.url})
        statuses = []
        deadline = time.monotonic() + 10
        while True:
            job = await server.job_status(submitted["job_id"])
            statuses.append(job["status"])
            if len(deliveries_of(job)) >= 3:
                break
            assert time.monotonic() < deadline, f"three delivery records did not appear within 10 s: {job}"
            await anyio.sleep(0.1)

    requests = receiver.requests
    deliveries = deliveries_of(job)
    assert set(statuses[statuses.index("completed") :]) == {"completed"}, statuses
    assert [record["outcome"] for record in deliveries] == ["failed", "failed", "delivered"]
    assert [record["status_code"] for record in deliveries] == [500, 500, 200]
    assert len(requests) == 3
    assert len({request.headers["webhook-id"] for request in requests}) == 1
    assert {record["message_id"] for record in deliveries} == {requests[0].headers["webhook-id"]}
    assert {request.body for request in requests} == {requests[0].body}
    for earlier, later in zip(requests, requests[1:]):
        # One second with up to 20 % jitter.
        assert later.received_at - earlier.received_at >= 0.75


async def test_gone_receiver_not_retried(start_server, webhook_receiver, tmp_path: Path) -> None:
    receiver = webhook_receiver(status_code=410)
    path = write_shipping_module(tmp_path)
    async with start_server("--webhook-retry-schedule", "1s,1s") as server:
        submitted = await server.submit("file_processing", USER, {"file_path": str(path), "webhook_url": receiver.url})
        await server.wait_for_job(submitted["job_id"], until=has_delivery)
        # Longer than the first retry delay of one second plus 20 % jitter.
        await anyio.sleep(1.5)
        job = await server.job_status(submitted["job_id"])

    assert job["status"] == "completed"
    assert len(receiver.requests) == 1
    assert len(deliveries_of(job)) == 1, deliveries_of(job)
    assert deliveries_of(job)[0]["outcome"] == "failed"
    assert deliveries_of(job)[0]["status_code"] == 410


async def test_pending_retry_survives_restart(start_server, webhook_receiver, tmp_path: Path) -> None:
    port = unused_local_port()
    url = f"http://127.0.0.1:{port}/hooks/job-done"
    path = write_shipping_module(tmp_path)
    schedule = ("--webhook-retry-schedule", "2s")
    async with start_server(*schedule) as server:
        submitted = await server.submit("file_processing", USER, {"file_path": str(path), "webhook_url": url})
        before_restart = await server.wait_for_job(submitted["job_id"], until=has_delivery)
        first_attempt_seen = time.monotonic()
    stopped_after = time.monotonic() - first_attempt_seen

    receiver = webhook_receiver(port=port)
    async with start_server(*schedule) as server:
        request = (await receiver.wait_for_requests(1, timeout=10))[0]
        job = await server.wait_for_job(submitted["job_id"], until=lambda job: len(deliveries_of(job)) >= 2)

    # Two seconds minus 20 % jitter: the first server stopped before its retry.
    assert stopped_after < 1.6, f"the first server took {stopped_after:.1f} s to stop"
    assert len(deliveries_of(before_restart)) == 1, deliveries_of(before_restart)
    first_attempt = deliveries_of(before_restart)[0]
    assert first_attempt["outcome"] == "failed"
    assert first_attempt["status_code"] is None
    assert request.headers["webhook-id"] == first_attempt["message_id"]
    assert request.json()["job_id"] == submitted["job_id"]
    assert [record["outcome"] for record in deliveries_of(job)] == ["failed", "delivered"]
    assert len(receiver.requests) == 1
    assert job["status"] == "completed"
