"""Files that are hard to read, indexed through the running server: empty,
binary, oversized, one huge line, UTF-16, CRLF, deep nesting and invalid UTF-8."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from e2e_support import top_hit_for_symbol, write_shipping_module

pytestmark = pytest.mark.anyio

USER = "reader"
# Chunk size bound of the server's default ChunkLimits (max_chunk_bytes).
MAX_CHUNK_BYTES = 4000


async def index_file(server, path: Path) -> dict:
    return await server.run_job("file_processing", USER, {"file_path": str(path)}, timeout=60)


async def assert_server_still_indexes(server, tmp_path: Path) -> None:
    """Run a normal job after an edge case to prove the process survived it."""
    job = await index_file(server, write_shipping_module(tmp_path, "after_edge_case.py"))
    assert job["status"] == "completed", job


async def test_empty_file_has_no_chunks(start_server, tmp_path: Path) -> None:
    path = tmp_path / "empty.py"
    path.write_bytes(b"")
    async with start_server() as server:
        job = await index_file(server, path)

    assert job["status"] == "completed", job
    assert job["result_data"]["chunks_processed"] == 0
    assert job["result_data"]["vector_storage"]["vector_ids"] == []
    assert job["result_data"]["analysis_result"]["functions_found"] == 0
    assert job["metrics"]["file_size_bytes"] == 0


async def test_binary_file_skipped_with_warning(start_server, tmp_path: Path) -> None:
    path = tmp_path / "blob.py"
    path.write_bytes(bytes(range(256)) * 64)
    async with start_server() as server:
        job = await index_file(server, path)

    assert job["status"] == "completed", job
    assert job["result_data"]["chunks_processed"] == 0
    assert len(job["warnings"]) == 1, job["warnings"]
    assert "binary" in job["warnings"][0]
    assert job["progress"]["files_skipped"] == 1


async def test_oversized_file_skipped_with_warning(start_server, tmp_path: Path) -> None:
    path = tmp_path / "huge.py"
    line = "value_{:07d} = {}\n"
    with path.open("w") as handle:
        index = 0
        while handle.tell() < 5 * 1024 * 1024:
            handle.write(line.format(index, index))
            index += 1
    async with start_server() as server:
        job = await index_file(server, path)

    assert job["status"] == "completed", job
    assert job["result_data"]["chunks_processed"] == 0
    assert job["progress"]["files_skipped"] == 1
    assert len(job["warnings"]) == 1, job["warnings"]
    warning = job["warnings"][0]
    assert str(path.stat().st_size) in warning, f"the warning does not give the file size: {warning}"
    assert re.search(r"(?i)bytes|size|large", warning), warning


async def test_max_file_bytes_flag_applies(start_server, tmp_path: Path) -> None:
    path = write_shipping_module(tmp_path)
    async with start_server("--max-file-bytes", "100") as server:
        job = await index_file(server, path)
    assert job["status"] == "completed", job
    assert job["result_data"]["chunks_processed"] == 0
    assert job["progress"]["files_skipped"] == 1


async def test_single_megabyte_line_is_bounded(start_server, tmp_path: Path) -> None:
    path = tmp_path / "one_line.js"
    items: list[str] = []
    size = 0
    while size < 1024 * 1024:
        item = f'{{id:{len(items)},label:"item{len(items)}"}}'
        items.append(item)
        size += len(item) + 1
    # One line with no line break at all.
    path.write_text("const CATALOG_ENTRIES=[" + ",".join(items) + "];")
    assert path.stat().st_size >= 1_000_000
    async with start_server() as server:
        job = await index_file(server, path)
        search = await server.search(USER, "catalog entries item label", limit=20)
        await assert_server_still_indexes(server, tmp_path)

    assert job["status"] == "completed", job
    # Chunks cover the whole text and none is larger than MAX_CHUNK_BYTES.
    minimum_chunks = -(-path.stat().st_size // MAX_CHUNK_BYTES)
    assert job["result_data"]["chunks_processed"] >= minimum_chunks
    for hit in search["results"]:
        size = len(hit["snippet"].encode())
        assert size <= MAX_CHUNK_BYTES, f"a chunk of {hit['path']} has a {size}-byte snippet"


async def test_utf16_file_is_decoded(start_server, tmp_path: Path) -> None:
    path = tmp_path / "widget.py"
    source = (
        "# Widget rendering helpers, saved as UTF-16.\n"
        "\n"
        "def render_unicode_widget(label):\n"
        "    return f\"[{label}] \u2713 caf\u00e9\"\n"
    )
    path.write_bytes(b"\xff\xfe" + source.encode("utf-16-le"))
    async with start_server() as server:
        job = await index_file(server, path)
        search = await server.search(USER, "render unicode widget label")

    assert job["status"] == "completed", job
    assert job["result_data"]["language"] == "python"
    assert job["result_data"]["analysis_result"]["functions_found"] == 1
    hit = top_hit_for_symbol(search["results"], "render_unicode_widget")
    assert (hit["start_line"], hit["end_line"]) == (3, 4)
    assert "caf\u00e9" in hit["snippet"]


async def test_crlf_file_line_numbers(start_server, tmp_path: Path) -> None:
    path = tmp_path / "windows_style.py"
    lines = [
        "import os",
        "",
        "",
        "def load_registry_settings(hive_name):",
        "    settings = {}",
        "    for key in os.environ:",
        "        settings[key] = hive_name",
        "    return settings",
        "",
        "",
        "def unrelated_cleanup():",
        "    return None",
    ]
    path.write_bytes("\r\n".join(lines).encode() + b"\r\n")
    async with start_server() as server:
        job = await index_file(server, path)
        search = await server.search(USER, "load registry settings hive name")

    assert job["status"] == "completed", job
    hit = top_hit_for_symbol(search["results"], "load_registry_settings")
    assert (hit["start_line"], hit["end_line"]) == (4, 8)


async def test_deep_nesting_keeps_server_alive(start_server, tmp_path: Path) -> None:
    depth = 5_000
    nested_ifs = tmp_path / "nested_ifs.js"
    nested_ifs.write_text(
        "function deeplyNestedChecks(flag) {\n" + "if (flag) {" * depth + "flag = !flag;" + "}" * depth + "\n}\n"
    )
    nested_lists = tmp_path / "nested_lists.py"
    nested_lists.write_text("DEEP = " + "[" * depth + "]" * depth + "\n\n\ndef after_deep_value():\n    return DEEP\n")
    async with start_server() as server:
        js_job = await index_file(server, nested_ifs)
        py_job = await index_file(server, nested_lists)
        await assert_server_still_indexes(server, tmp_path)
        stats = await server.call_ok("get_collection_stats", {"user_id": USER})

    assert js_job["status"] == "completed", js_job
    assert py_job["status"] == "completed", py_job
    assert stats["files"] >= 1


async def test_invalid_utf8_completes_with_warning(start_server, tmp_path: Path) -> None:
    path = tmp_path / "latin1_comment.py"
    path.write_bytes(
        b"# Author: Fran\xe7ois \xff\xc3\x28\n"
        b"\n"
        b"def convert_legacy_encoding(raw):\n"
        b"    return raw.decode('latin-1')\n"
    )
    async with start_server() as server:
        job = await index_file(server, path)
        search = await server.search(USER, "convert legacy encoding raw")

    assert job["status"] == "completed", job
    assert len(job["warnings"]) == 1, job["warnings"]
    assert "UTF-8" in job["warnings"][0]
    assert job["result_data"]["chunks_processed"] >= 1
    hit = top_hit_for_symbol(search["results"], "convert_legacy_encoding")
    assert (hit["start_line"], hit["end_line"]) == (3, 4)
