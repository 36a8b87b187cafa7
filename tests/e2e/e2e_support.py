"""Sample sources and checks shared by the end-to-end tests."""

from __future__ import annotations

import re
import socket
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]

# RFC 3339 in UTC with exactly three fractional digits, e.g. 2024-12-05T12:34:56.789Z.
RFC3339_MILLIS_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
VECTOR_ID = re.compile(r"^vec_\d+$")

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
