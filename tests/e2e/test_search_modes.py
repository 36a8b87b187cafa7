"""search_code modes, filters, messages and argument errors, over the polyglot fixture tree
and small workspaces written by the tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from e2e_support import REPO_ROOT

pytestmark = pytest.mark.anyio

USER = "search_user"
POLYGLOT = REPO_ROOT / "tests" / "fixtures" / "polyglot"


async def search(server: Any, query: str, **options: Any) -> dict[str, Any]:
    return await server.call_ok("search_code", {"user_id": USER, "query": query, "limit": 10, **options})


async def indexed_server(start_server: Any) -> Any:
    server_context = start_server()
    server = await server_context.__aenter__()
    job = await server.run_job("workspace_indexing", USER, {"workspace_path": str(POLYGLOT)})
    assert job["status"] == "completed"
    return server_context, server


async def test_modes_report_their_scores(start_server) -> None:
    context, server = await indexed_server(start_server)
    try:
        for mode in ["hybrid", "semantic", "keyword"]:
            found = await search(server, "shopping cart total price", mode=mode)
            assert found["mode"] == mode
            assert found["results"], f"{mode} found nothing"
            scores = [hit["score"] for hit in found["results"]]
            assert scores == sorted(scores, reverse=True), f"{mode} scores are not ordered"
            if mode == "semantic":
                assert all(-1.0 <= score <= 1.0 for score in scores)
        default = await search(server, "shopping cart total price")
        assert default["mode"] == "hybrid"
        assert default["indexing_in_progress"] is False
    finally:
        await context.__aexit__(None, None, None)


async def test_keyword_mode_finds_exact_identifier(start_server) -> None:
    context, server = await indexed_server(start_server)
    try:
        symbols = {}
        for path in POLYGLOT.glob("[!.]*.*"):
            found = await search(server, path.stem, mode="keyword")
            symbols[path.name] = [Path(hit["path"]).name for hit in found["results"]]
        # A file's own name is among its keywords, so each file ranks in the top 3.
        for name, hits in symbols.items():
            assert name in hits[:3], f"{name} not in the top 3 keyword hits {hits[:3]}"
    finally:
        await context.__aexit__(None, None, None)


async def test_filters_restrict_results(start_server) -> None:
    context, server = await indexed_server(start_server)
    try:
        cases = [
            ({"language": "rust"}, lambda hit: hit["language"] == "rust"),
            ({"kind": "function"}, lambda hit: hit["kind"] == "function"),
            ({"path_glob": "*.go"}, lambda hit: hit["path"].endswith(".go")),
            ({"path_prefix": str(POLYGLOT / "ca")}, lambda hit: Path(hit["path"]).name.startswith("ca")),
        ]
        for mode in ["hybrid", "semantic", "keyword"]:
            for options, accepts in cases:
                found = await search(server, "add item queue value", mode=mode, **options)
                # Vector search always has neighbours; keyword search needs a shared word.
                if mode == "semantic":
                    assert found["results"], f"{mode} with {options} found nothing"
                rejected = [hit["path"] for hit in found["results"] if not accepts(hit)]
                assert not rejected, f"{mode} with {options} returned {rejected}"
        none = await search(server, "add item", language="text")
        assert all(hit["language"] == "text" for hit in none["results"])
        error = await server.call_error("search_code", {"user_id": USER, "query": "add item", "language": "cobol"})
        assert "cobol" in error
        assert "python" in error
        error = await server.call_error("search_code", {"user_id": USER, "query": "add item", "kind": "Function"})
        assert "function" in error
    finally:
        await context.__aexit__(None, None, None)


async def test_unknown_mode_rejected(start_server) -> None:
    async with start_server() as server:
        error = await server.call_error("search_code", {"user_id": USER, "query": "x y", "mode": "fuzzy"})
        assert "fuzzy" in error


async def test_search_reports_indexing_in_progress(start_server, tmp_path: Path) -> None:
    tree = tmp_path / "big"
    for index in range(1500):
        directory = tree / f"pkg_{index // 100}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"module_{index}.py").write_text(f"def handler_{index}(value):\n    return value + {index}\n")
    async with start_server() as server:
        submitted = await server.submit("workspace_indexing", USER, {"workspace_path": str(tree)})
        during = await search(server, "handler value")
        final = await server.wait_for_job(submitted["job_id"], timeout=120)
        after = await search(server, "handler value")
    assert final["status"] == "completed"
    assert during["indexing_in_progress"] is True
    assert after["indexing_in_progress"] is False


def write_workspace(tmp_path: Path, files: dict[str, str]) -> Path:
    """Write `files` (relative path to text) under a new workspace directory and return it."""
    workspace = tmp_path / "workspace"
    for name, text in files.items():
        path = workspace / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return workspace


async def index_workspace(server: Any, workspace: Path) -> None:
    job = await server.run_job("workspace_indexing", USER, {"workspace_path": str(workspace)})
    assert job["status"] == "completed", job


async def keyword_files(server: Any, query: str) -> list[str]:
    """Return the file names of a keyword search's results, best first."""
    found = await search(server, query, mode="keyword")
    return [Path(hit["path"]).name for hit in found["results"]]


LOAD_SETTINGS = "def load_settings(path):\n    return open(path).read()\n"


async def test_backticked_query_words_rank_first(start_server, tmp_path: Path) -> None:
    workspace = write_workspace(
        tmp_path,
        {"settings.py": LOAD_SETTINGS, "headers.py": "def parse_header(data):\n    return data.split(b':')\n"},
    )
    async with start_server() as server:
        await index_workspace(server, workspace)
        # Unquoted, "header" wins: it is in the file name, the symbol and the body.
        for query, expected in [("`load` a header", "settings.py"), ("load a `header`", "headers.py")]:
            files = await keyword_files(server, query)
            assert files[0] == expected, f"{query!r} ranked {files}"


async def test_fullwidth_and_decomposed_queries_match(start_server, tmp_path: Path) -> None:
    workspace = write_workspace(
        tmp_path,
        {"settings.py": LOAD_SETTINGS, "sizes.py": "def größe_berechnen(items):\n    return len(items)\n"},
    )
    async with start_server() as server:
        await index_workspace(server, workspace)
        # Fullwidth letters (as typed with some input methods) and an accent written
        # as a combining mark (as macOS file names store it) match the usual forms.
        for query, expected in [("ｌｏａｄ＿ｓｅｔｔｉｎｇｓ", "settings.py"), ("gro\u0308ße", "sizes.py")]:
            files = await keyword_files(server, query)
            assert files, f"{query!r} found nothing"
            assert files[0] == expected, f"{query!r} ranked {files}"


async def test_identifier_query_ranks_named_chunk_first(start_server, tmp_path: Path) -> None:
    body = "".join(f"    part_{n} = decode_part(text, {n})\n" for n in range(40))
    loader = "def load(path):\n    return open(path).read()\n\n\nclass LoadError(Exception):\n    pass\n"
    files = {"json/__init__.py": f"def loads(text, strict=True):\n{body}    return join_parts(text)\n"}
    files.update({f"loader_{n}.py": loader for n in range(6)})
    workspace = write_workspace(tmp_path, files)
    async with start_server() as server:
        await index_workspace(server, workspace)
        for query in ["loads", "json.loads", "`loads`", "loads()"]:
            for mode in ["keyword", "hybrid"]:
                found = await search(server, query, mode=mode)
                top = found["results"][0]
                assert top["symbol"] == "loads", f"{query!r} in {mode} ranked {top['symbol']!r} first"
                scores = [hit["score"] for hit in found["results"]]
                assert scores == sorted(scores, reverse=True), f"{query!r} in {mode}: scores {scores}"


async def test_search_explains_empty_results(start_server, tmp_path: Path) -> None:
    workspace = write_workspace(tmp_path, {"settings.py": LOAD_SETTINGS})
    async with start_server() as server:
        unknown = await server.call_ok("search_code", {"user_id": "nobody_here", "query": "load settings"})
        assert unknown["results"] == []
        assert 'user "nobody_here" has no indexed code yet' in unknown["message"]

        await index_workspace(server, workspace)
        relative = await search(server, "load settings", path_prefix="workspace/")
        assert relative["results"] == []
        assert 'none of the 1 chunks matches path_prefix "workspace/"' in relative["message"]
        assert "compare the path filters" in relative["message"]

        other_language = await search(server, "load settings", language="go")
        assert other_language["message"] == 'none of the 1 chunks matches language "go"'

        # Without searchable words the result is empty for that reason, not the filter's.
        no_words = await search(server, "the of and", language="python")
        assert "no searchable words" in no_words["message"]
        assert "matches" not in no_words["message"]

        for glob, expected in [("[abc", "has no closing ]"), ("*/{a,b}/*.py", "alternation is not supported")]:
            error = await server.call_error(
                "search_code", {"user_id": USER, "query": "load settings", "path_glob": glob}
            )
            assert f"invalid path_glob {json.dumps(glob)}" in error
            assert expected in error

        found = await search(server, "load settings", path_glob="*/settings.py")
        assert found["results"]
        assert "message" not in found


async def test_bad_arguments_are_named(start_server) -> None:
    async with start_server() as server:
        cases = [
            ({"limit": -1}, "limit: invalid value: integer `-1`"),
            ({"limit": "5"}, "limit: invalid type: string"),
            ({"mode": "fuzzy"}, "mode: unknown variant `fuzzy`, expected one of `hybrid`, `semantic`, `keyword`"),
            ({"query": None}, "query: invalid type: null, expected a string"),
            ({"path_prefx": "/src/"}, "unknown field `path_prefx`"),
        ]
        for change, expected in cases:
            arguments = {"user_id": USER, "query": "load settings", **change}
            error = await server.call_error("search_code", arguments)
            assert expected in error, f"{change}: {error}"

        # A misspelt user filter must not list every user's jobs.
        error = await server.call_error("list_jobs", {"usr": USER})
        assert "unknown field `usr`" in error

        # The Inspector CLI sends a query of digits as a JSON number.
        found = await server.call_ok("search_code", {"user_id": USER, "query": 404})
        assert 'query "404" has no searchable words' in found["message"]


async def test_identifier_spellings_and_stopwords_match(start_server, tmp_path: Path) -> None:
    shell = (
        "def which(command):\n    return find_program(command)\n\n\n"
        "def split_identifiers(text):\n    return text.split()\n\n\n"
        "def _split_identifiers(text):\n    return text.split('_')\n"
    )
    workspace = write_workspace(tmp_path, {"shell.py": shell})
    async with start_server() as server:
        await index_workspace(server, workspace)
        # "which" is a stopword, so only its name finds it.
        for mode in ["keyword", "hybrid"]:
            found = await search(server, "which", mode=mode)
            assert found["results"], f"{mode}: {found}"
            assert found["results"][0]["symbol"] == "which"
            assert "message" not in found, found["message"]

        # Every spelling finds both chunks, and the same spelling ranks above `_split_identifiers`.
        for query in ["SPLITIDENTIFIERS", "splitIdentifiers", "split_identifiers", "ｓｐｌｉｔ_ｉｄｅｎｔｉｆｉｅｒｓ"]:
            found = await search(server, query, mode="keyword")
            symbols = [hit["symbol"] for hit in found["results"][:2]]
            assert set(symbols) == {"split_identifiers", "_split_identifiers"}, f"{query!r}: {symbols}"
        found = await search(server, "split_identifiers", mode="hybrid")
        symbols = [hit["symbol"] for hit in found["results"][:2]]
        assert symbols == ["split_identifiers", "_split_identifiers"]
