"""Webhook address policy: receivers that the policy rejects get no request,
neither at submission nor before a delivery attempt.

Every request in these tests goes to 127.0.0.1. Metadata addresses appear only
in URLs that the server must reject before connecting, and the tests assert
only on that rejection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from e2e_support import unused_local_port, write_shipping_module

pytestmark = pytest.mark.anyio

USER = "user_123"


def deliveries(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job["webhook"]["deliveries"] if job["webhook"] else []


def submit_arguments(source: Path, webhook_url: str) -> dict[str, Any]:
    return {
        "job_type": "file_processing",
        "user_id": USER,
        "metadata": {"file_path": str(source), "webhook_url": webhook_url},
    }


async def test_strict_policy_rejects_loopback(start_server, webhook_receiver, tmp_path: Path) -> None:
    receiver = webhook_receiver()
    source = write_shipping_module(tmp_path)
    url = f"http://127.0.0.1:{receiver.port}/"
    async with start_server("--webhook-address-policy", "strict") as server:
        message = await server.call_error("submit_job", submit_arguments(source, url))
        listed = await server.call_ok("list_jobs", {})

    assert url in message
    assert "127.0.0.1 is a loopback address" in message
    assert "strict address policy allows only public addresses" in message
    assert listed["jobs"] == []
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "http://169.254.169.254/latest/meta-data/",
            "169.254.169.254 is a link-local / cloud metadata address",
        ),
        (
            "http://[::ffff:169.254.169.254]/",
            "::ffff:169.254.169.254 embeds the IPv4 address 169.254.169.254, "
            "which is a link-local / cloud metadata address",
        ),
        (
            "http://2852039166/",
            "169.254.169.254 is a link-local / cloud metadata address",
        ),
    ],
)
async def test_default_policy_rejects_metadata(start_server, tmp_path: Path, url: str, expected: str) -> None:
    source = write_shipping_module(tmp_path)
    async with start_server() as server:
        message = await server.call_error("submit_job", submit_arguments(source, url))
        listed = await server.call_ok("list_jobs", {})

    assert "is not allowed" in message
    assert expected in message
    assert listed["jobs"] == []


async def test_strict_restart_stops_pending_delivery(start_server, tmp_path: Path) -> None:
    """A message queued under the default policy is rejected before connecting
    once the server restarts with the strict policy, and is not retried."""
    source = write_shipping_module(tmp_path)
    # Nothing listens on this port, so the first attempt fails and the message
    # stays pending for a retry.
    url = f"http://127.0.0.1:{unused_local_port()}/hooks/job-done"
    async with start_server("--webhook-retry-schedule", "3s") as server:
        submitted = await server.submit("file_processing", USER, {"file_path": str(source), "webhook_url": url})
        job_id = submitted["job_id"]
        first_run = await server.wait_for_job(job_id, until=lambda job: len(deliveries(job)) >= 1)

    assert first_run["status"] == "completed"
    assert deliveries(first_run)[0]["outcome"] == "failed"
    assert "not sent" not in (deliveries(first_run)[0]["error"] or "")

    def has_rejection(job: dict[str, Any]) -> bool:
        return any("webhook not sent" in (record["error"] or "") for record in deliveries(job))

    async with start_server(
        "--webhook-address-policy", "strict", "--webhook-retry-schedule", "200ms,200ms,200ms"
    ) as server:
        rejected_run = await server.wait_for_job(job_id, until=has_rejection)
        # Longer than several retry delays, so a retry would have shown up.
        await anyio.sleep(1.5)
        later = await server.job_status(job_id)

    [rejection] = [record for record in deliveries(rejected_run) if "webhook not sent" in (record["error"] or "")]
    assert rejection["outcome"] == "failed"
    assert rejection["status_code"] is None
    assert "127.0.0.1 is a loopback address" in rejection["error"]
    assert deliveries(later) == deliveries(rejected_run)
