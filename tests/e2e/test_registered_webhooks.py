"""Registered webhooks: signatures checked with the official Standard Webhooks
verifier, secret rotation, test events, custom headers, event filters,
health, batching, redelivery, deletion and input validation."""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from e2e_support import write_shipping_module

pytestmark = pytest.mark.anyio

USER = "user_123"
OTHER_USER = "user_456"
# Time allowed for a POST or a delivery record that is expected to arrive.
ARRIVAL_TIMEOUT_SECONDS = 10.0
# Time a test waits to be sure that a request which should not come does not.
SETTLE_SECONDS = 0.5


def verify(secret: str, request: Any) -> Any:
    """Verify a received request with the official verifier and return its parsed body."""
    return Webhook(secret).verify(request.body, request.headers)


def random_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


async def register(server: Any, url: str, user_id: str = USER, **options: Any) -> dict[str, Any]:
    return await server.call_ok("register_webhook", {"user_id": user_id, "url": url, **options})


async def wait_for_deliveries(
    server: Any, count: int, timeout: float = ARRIVAL_TIMEOUT_SECONDS, **filters: Any
) -> list[dict[str, Any]]:
    """Poll list_deliveries until it returns at least `count` attempts, newest first."""
    deadline = time.monotonic() + timeout
    while True:
        deliveries = (await server.call_ok("list_deliveries", filters))["deliveries"]
        if len(deliveries) >= count:
            return deliveries
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"list_deliveries({filters}) returned {len(deliveries)} of {count} attempts within {timeout} s: {deliveries}"
            )
        await anyio.sleep(0.05)


async def wait_for_webhook(server: Any, webhook_id: str, until: Any, user_id: str = USER) -> dict[str, Any]:
    """Poll list_webhooks until the view of `webhook_id` satisfies `until`."""
    deadline = time.monotonic() + ARRIVAL_TIMEOUT_SECONDS
    while True:
        listed = await server.call_ok("list_webhooks", {"user_id": user_id})
        views = [view for view in listed["webhooks"] if view["webhook_id"] == webhook_id]
        if views and until(views[0]):
            return views[0]
        if time.monotonic() >= deadline:
            raise AssertionError(f"webhook {webhook_id} did not reach the expected state; last: {views}")
        await anyio.sleep(0.05)


async def test_signature_passes_official_verifier(start_server, webhook_receiver, tmp_path: Path) -> None:
    receiver = webhook_receiver()
    path = write_shipping_module(tmp_path)
    async with start_server() as server:
        registered = await register(server, receiver.url)
        listed = await server.call_ok("list_webhooks", {"user_id": USER})
        job = await server.run_job("file_processing", USER, {"file_path": str(path)})
        [request] = await receiver.wait_for_requests(1, timeout=ARRIVAL_TIMEOUT_SECONDS)

    secret = registered["secret"]
    assert secret.startswith("whsec_")
    assert registered["webhook"]["enabled"] is True
    assert registered["webhook"]["active_secrets"] == 1
    [view] = listed["webhooks"]
    assert view["webhook_id"] == registered["webhook"]["webhook_id"]
    assert "secret" not in view
    assert secret not in json.dumps(listed)
    assert secret.removeprefix("whsec_") not in json.dumps(listed)

    payload = verify(secret, request)
    assert payload["job_id"] == job["job_id"]
    assert payload["status"] == "completed"
    assert payload["user_id"] == USER
    assert request.headers["webhook-id"].startswith("msg_")
    assert request.headers["content-type"] == "application/json"

    tampered_body = bytearray(request.body)
    position = request.body.index(b"completed")
    tampered_body[position] = ord("C")
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(bytes(tampered_body), request.headers)

    tampered_headers = dict(request.headers)
    tampered_headers["webhook-timestamp"] = str(int(request.headers["webhook-timestamp"]) + 1)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(request.body, tampered_headers)

    with pytest.raises(WebhookVerificationError):
        Webhook(random_secret()).verify(request.body, request.headers)


async def test_job_webhook_url_signed_on_retries(start_server, webhook_receiver, tmp_path: Path) -> None:
    """A job's own webhook_url is signed with --webhook-secret, and a retry keeps the webhook-id."""
    secret = random_secret()
    receiver = webhook_receiver(status_codes=(500,))
    path = write_shipping_module(tmp_path)
    async with start_server("--webhook-secret", secret, "--webhook-retry-schedule", "1s") as server:
        submitted = await server.submit("file_processing", USER, {"file_path": str(path), "webhook_url": receiver.url})
        first, second = await receiver.wait_for_requests(2, timeout=ARRIVAL_TIMEOUT_SECONDS)
        job = await server.wait_for_job(
            submitted["job_id"], until=lambda job: job["webhook"] is not None and len(job["webhook"]["deliveries"]) == 2
        )

    assert job["status"] == "completed"
    assert verify(secret, first)["job_id"] == submitted["job_id"]
    assert verify(secret, second)["job_id"] == submitted["job_id"]
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    outcomes = [delivery["outcome"] for delivery in job["webhook"]["deliveries"]]
    assert outcomes == ["failed", "delivered"]


async def test_rotation_grace_signs_with_both(start_server, webhook_receiver) -> None:
    receiver = webhook_receiver()
    async with start_server() as server:
        registered = await register(server, receiver.url)
        webhook_id = registered["webhook"]["webhook_id"]
        rotated = await server.call_ok("rotate_webhook_secret", {"webhook_id": webhook_id, "grace_seconds": 3600})
        view = await wait_for_webhook(server, webhook_id, lambda view: True)
        await server.call_ok("send_test_webhook", {"webhook_id": webhook_id})
        [request] = await receiver.wait_for_requests(1, timeout=ARRIVAL_TIMEOUT_SECONDS)

    old_secret = registered["secret"]
    new_secret = rotated["secret"]
    assert new_secret != old_secret
    assert view["active_secrets"] == 2
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verify(old_secret, request)["type"] == "webhook.test"
    assert verify(new_secret, request)["type"] == "webhook.test"


async def test_rotation_without_grace_drops_old(start_server, webhook_receiver) -> None:
    receiver = webhook_receiver()
    async with start_server() as server:
        registered = await register(server, receiver.url)
        webhook_id = registered["webhook"]["webhook_id"]
        rotated = await server.call_ok("rotate_webhook_secret", {"webhook_id": webhook_id, "grace_seconds": 0})
        view = await wait_for_webhook(server, webhook_id, lambda view: True)
        await server.call_ok("send_test_webhook", {"webhook_id": webhook_id})
        [request] = await receiver.wait_for_requests(1, timeout=ARRIVAL_TIMEOUT_SECONDS)

    assert view["active_secrets"] == 1
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    assert verify(rotated["secret"], request)["type"] == "webhook.test"
    with pytest.raises(WebhookVerificationError):
        verify(registered["secret"], request)


async def test_send_test_webhook_logged(start_server, webhook_receiver) -> None:
    response_body = b'{"ack": "test-4821"}'
    receiver = webhook_receiver(response_body=response_body)
    async with start_server() as server:
        registered = await register(server, receiver.url)
        webhook_id = registered["webhook"]["webhook_id"]
        queued = await server.call_ok("send_test_webhook", {"webhook_id": webhook_id})
        [request] = await receiver.wait_for_requests(1, timeout=ARRIVAL_TIMEOUT_SECONDS)
        [delivery] = await wait_for_deliveries(server, 1, webhook_id=webhook_id)

    body = verify(registered["secret"], request)
    assert body["type"] == "webhook.test"
    assert body["webhook_id"] == webhook_id
    assert body["user_id"] == USER
    assert request.headers["webhook-id"] == queued["message_id"]

    assert delivery["message_id"] == queued["message_id"]
    assert delivery["event"] == "webhook.test"
    assert delivery["outcome"] == "delivered"
    assert delivery["status_code"] == 200
    assert delivery["attempt"] == 1
    assert delivery["response_body"] == response_body.decode()


async def test_custom_headers_sent(start_server, webhook_receiver) -> None:
    receiver = webhook_receiver()
    headers = {"X-Api-Key": "key-7731", "X-Env": "staging"}
    async with start_server() as server:
        registered = await register(server, receiver.url, headers=headers)
        webhook_id = registered["webhook"]["webhook_id"]
        await server.call_ok("send_test_webhook", {"webhook_id": webhook_id})
        [request] = await receiver.wait_for_requests(1, timeout=ARRIVAL_TIMEOUT_SECONDS)
        listed = await server.call_ok("list_webhooks", {"user_id": USER})

    assert request.headers["x-api-key"] == "key-7731"
    assert request.headers["x-env"] == "staging"
    verify(registered["secret"], request)
    [view] = listed["webhooks"]
    # Header values are never shown, whatever the header's name.
    assert view["headers"]["X-Env"] == "[REDACTED]"
    assert view["headers"]["X-Api-Key"] == "[REDACTED]"


INVALID_HEADERS = [
    ({"X-Inject": "a\r\nX-Evil: 1"}, "CR, LF"),
    ({"X-Newline": "a\nb"}, "CR, LF"),
    ({"webhook-signature": "v1,forged"}, "set by the server"),
    ({"Webhook-Id": "msg_forged"}, "set by the server"),
    ({"Content-Type": "text/plain"}, "set by the server"),
    ({"Bad Name": "x"}, "invalid header name"),
    ({"": "x"}, "invalid header name"),
    ({"X-Long": "a" * 1025}, "maximum is 1024"),
]


async def test_invalid_headers_rejected(start_server, webhook_receiver) -> None:
    receiver = webhook_receiver()
    async with start_server() as server:
        messages = []
        for headers, _ in INVALID_HEADERS:
            arguments = {"user_id": USER, "url": receiver.url, "headers": headers}
            messages.append(await server.call_error("register_webhook", arguments))
        listed = await server.call_ok("list_webhooks", {"user_id": USER})

    for (headers, expected), message in zip(INVALID_HEADERS, messages, strict=True):
        [name] = headers
        assert expected in message, f"headers {headers!r}: {message}"
        assert name in message, f"headers {headers!r}: {message}"
    assert listed["webhooks"] == []


async def test_events_filter_failed_only(start_server, webhook_receiver, tmp_path: Path) -> None:
    receiver = webhook_receiver()
    path = write_shipping_module(tmp_path)
    missing = tmp_path / "does_not_exist.py"
    async with start_server() as server:
        registered = await register(server, receiver.url, events=["job.failed"])
        completed = await server.run_job("file_processing", USER, {"file_path": str(path)})
        failed = await server.run_job("file_processing", USER, {"file_path": str(missing)})
        [request] = await receiver.wait_for_requests(1, timeout=ARRIVAL_TIMEOUT_SECONDS)
        await anyio.sleep(SETTLE_SECONDS)
        completed_deliveries = await server.call_ok("list_deliveries", {"job_id": completed["job_id"]})

    assert registered["webhook"]["events"] == ["job.failed"]
    assert completed["status"] == "completed"
    assert failed["status"] == "failed"
    assert len(receiver.requests) == 1
    payload = verify(registered["secret"], request)
    assert payload["job_id"] == failed["job_id"]
    assert payload["status"] == "failed"
    assert payload["success"] is False
    assert payload["error"]["code"] == "FILE_NOT_FOUND"
    assert completed_deliveries["deliveries"] == []


async def test_other_users_jobs_not_sent(start_server, webhook_receiver, tmp_path: Path) -> None:
    receiver = webhook_receiver()
    path = write_shipping_module(tmp_path)
    async with start_server() as server:
        registered = await register(server, receiver.url)
        other = await server.run_job("file_processing", OTHER_USER, {"file_path": str(path)})
        own = await server.run_job("file_processing", USER, {"file_path": str(path)})
        [request] = await receiver.wait_for_requests(1, timeout=ARRIVAL_TIMEOUT_SECONDS)
        await anyio.sleep(SETTLE_SECONDS)
        other_deliveries = await server.call_ok("list_deliveries", {"job_id": other["job_id"]})

    assert other["status"] == "completed"
    assert len(receiver.requests) == 1
    payload = verify(registered["secret"], request)
    assert payload["job_id"] == own["job_id"]
    assert payload["user_id"] == USER
    assert other_deliveries["deliveries"] == []


async def test_gone_disables_webhook(start_server, webhook_receiver, tmp_path: Path) -> None:
    """410 Gone disables the webhook after one attempt, even though a retry would be due in 1 s."""
    receiver = webhook_receiver(status_code=410)
    path = write_shipping_module(tmp_path)
    async with start_server("--webhook-retry-schedule", "1s") as server:
        registered = await register(server, receiver.url)
        webhook_id = registered["webhook"]["webhook_id"]
        first_job = await server.run_job("file_processing", USER, {"file_path": str(path)})
        await receiver.wait_for_requests(1, timeout=ARRIVAL_TIMEOUT_SECONDS)
        disabled = await wait_for_webhook(server, webhook_id, lambda view: view["enabled"] is False)
        # A job that ends while the webhook is disabled queues nothing for it.
        second_job = await server.run_job("file_processing", USER, {"file_path": str(path)})
        await anyio.sleep(1.5)
        deliveries = (await server.call_ok("list_deliveries", {"webhook_id": webhook_id}))["deliveries"]
        requests_while_disabled = len(receiver.requests)

        receiver.behaviour.status_code = 200
        enabled = await server.call_ok("update_webhook", {"webhook_id": webhook_id, "enabled": True})
        await server.call_ok("send_test_webhook", {"webhook_id": webhook_id})
        requests = await receiver.wait_for_requests(2, timeout=ARRIVAL_TIMEOUT_SECONDS)

    assert first_job["status"] == "completed"
    assert second_job["status"] == "completed"
    assert requests_while_disabled == 1
    assert "410" in disabled["disabled_reason"]
    [delivery] = deliveries
    assert delivery["job_id"] == first_job["job_id"]
    assert delivery["outcome"] == "failed"
    assert delivery["status_code"] == 410
    assert enabled["enabled"] is True
    assert enabled["disabled_reason"] is None
    assert requests[1].json()["type"] == "webhook.test"


async def test_batch_collects_three_jobs(start_server, webhook_receiver, tmp_path: Path) -> None:
    receiver = webhook_receiver()
    paths = [write_shipping_module(tmp_path, f"shipping_{index}.py") for index in range(3)]
    async with start_server() as server:
        registered = await register(server, receiver.url, batch_window_seconds=2)
        webhook_id = registered["webhook"]["webhook_id"]
        submitted = [await server.submit("file_processing", USER, {"file_path": str(path)}) for path in paths]
        jobs = [await server.wait_for_job(job["job_id"]) for job in submitted]
        [request] = await receiver.wait_for_requests(1, timeout=ARRIVAL_TIMEOUT_SECONDS)
        await anyio.sleep(SETTLE_SECONDS)
        deliveries = await wait_for_deliveries(server, 3, webhook_id=webhook_id)

    assert registered["webhook"]["batch_window_seconds"] == 2
    assert [job["status"] for job in jobs] == ["completed"] * 3
    assert len(receiver.requests) == 1, [r.headers["webhook-id"] for r in receiver.requests]
    assert request.headers["webhook-id"].startswith("batch_")
    body = verify(registered["secret"], request)
    assert body["type"] == "batch"
    assert body["webhook_id"] == webhook_id
    job_ids = {job["job_id"] for job in submitted}
    assert len(body["events"]) == 3
    assert {event["job_id"] for event in body["events"]} == job_ids

    assert len(deliveries) == 3
    assert {delivery["job_id"] for delivery in deliveries} == job_ids
    assert len({delivery["message_id"] for delivery in deliveries}) == 3
    assert {delivery["outcome"] for delivery in deliveries} == {"delivered"}


async def test_batch_due_at_start_sent_once(start_server, webhook_receiver, tmp_path: Path) -> None:
    """Messages whose batching window ended while the server was stopped go out as one batch."""
    receiver = webhook_receiver()
    paths = [write_shipping_module(tmp_path, f"shipping_{index}.py") for index in range(3)]
    async with start_server() as server:
        registered = await register(server, receiver.url, batch_window_seconds=1)
        webhook_id = registered["webhook"]["webhook_id"]
        submitted = [await server.submit("file_processing", USER, {"file_path": str(path)}) for path in paths]
        for job in submitted:
            await server.wait_for_job(job["job_id"])
    requests_before_restart = len(receiver.requests)
    await anyio.sleep(1.5)
    async with start_server() as server:
        await receiver.wait_for_requests(1, timeout=ARRIVAL_TIMEOUT_SECONDS)
        await wait_for_deliveries(server, 3, webhook_id=webhook_id)

    assert requests_before_restart == 0
    event_counts = [len(request.json()["events"]) for request in receiver.requests]
    assert event_counts == [3]


async def test_redeliver_repeats_message(start_server, webhook_receiver, tmp_path: Path) -> None:
    receiver = webhook_receiver()
    path = write_shipping_module(tmp_path)
    async with start_server() as server:
        registered = await register(server, receiver.url)
        webhook_id = registered["webhook"]["webhook_id"]
        await server.run_job("file_processing", USER, {"file_path": str(path)})
        [first] = await receiver.wait_for_requests(1, timeout=ARRIVAL_TIMEOUT_SECONDS)
        await wait_for_deliveries(server, 1, webhook_id=webhook_id)
        message_id = first.headers["webhook-id"]
        queued = await server.call_ok("redeliver", {"message_id": message_id})
        _, second = await receiver.wait_for_requests(2, timeout=ARRIVAL_TIMEOUT_SECONDS)
        deliveries = await wait_for_deliveries(server, 2, webhook_id=webhook_id)
        unknown = await server.call_error("redeliver", {"message_id": "msg_unknown"})

    assert queued["message_id"] == message_id
    assert second.headers["webhook-id"] == message_id
    assert second.body == first.body
    verify(registered["secret"], second)
    assert [delivery["message_id"] for delivery in deliveries] == [message_id, message_id]
    # A redelivery starts a fresh retry schedule, so it is attempt 1 again.
    assert [delivery["attempt"] for delivery in deliveries] == [1, 1]
    assert [delivery["outcome"] for delivery in deliveries] == ["delivered", "delivered"]
    assert "msg_unknown" in unknown
    assert "not found" in unknown


async def test_deleted_webhook_gets_nothing(start_server, webhook_receiver, tmp_path: Path) -> None:
    deleted_receiver = webhook_receiver()
    remaining_receiver = webhook_receiver()
    path = write_shipping_module(tmp_path)
    async with start_server() as server:
        deleted = await register(server, deleted_receiver.url)
        remaining = await register(server, remaining_receiver.url)
        deleted_id = deleted["webhook"]["webhook_id"]
        await server.run_job("file_processing", USER, {"file_path": str(path)})
        await deleted_receiver.wait_for_requests(1, timeout=ARRIVAL_TIMEOUT_SECONDS)
        await remaining_receiver.wait_for_requests(1, timeout=ARRIVAL_TIMEOUT_SECONDS)
        await wait_for_deliveries(server, 1, webhook_id=deleted_id)

        result = await server.call_ok("delete_webhook", {"webhook_id": deleted_id})
        listed = await server.call_ok("list_webhooks", {"user_id": USER})
        later = await server.run_job("file_processing", USER, {"file_path": str(path)})
        await remaining_receiver.wait_for_requests(2, timeout=ARRIVAL_TIMEOUT_SECONDS)
        await anyio.sleep(SETTLE_SECONDS)
        past = (await server.call_ok("list_deliveries", {"webhook_id": deleted_id}))["deliveries"]
        later_deliveries = await wait_for_deliveries(server, 1, job_id=later["job_id"])
        second_delete = await server.call_error("delete_webhook", {"webhook_id": deleted_id})

    assert result == {"webhook_id": deleted_id, "deleted": True}
    assert [view["webhook_id"] for view in listed["webhooks"]] == [remaining["webhook"]["webhook_id"]]
    assert len(deleted_receiver.requests) == 1
    [past_delivery] = past
    assert past_delivery["outcome"] == "delivered"
    assert [delivery["webhook_id"] for delivery in later_deliveries] == [remaining["webhook"]["webhook_id"]]
    assert "not found" in second_delete


INVALID_REGISTRATIONS = [
    ({"url": "ftp://127.0.0.1/hook"}, ["ftp", "http or https"]),
    ({"url": "file:///tmp/hook"}, ["file", "http or https"]),
    ({"url": "not a url"}, ["not a url"]),
    ({"url": "http://user:pass@127.0.0.1/hook"}, ["credentials"]),
    ({"events": ["job.done"]}, ["job.done", "job.completed, job.failed, job.cancelled"]),
    ({"events": []}, ["events is empty"]),
    ({"batch_window_seconds": 3601}, ["batch_window_seconds", "3601", "0 to 3600"]),
    ({"user_id": "bad user!"}, ["invalid user_id", "bad user!"]),
    ({"user_id": ""}, ["user_id is empty"]),
]


async def test_registration_rejects_invalid_input(start_server, webhook_receiver) -> None:
    receiver = webhook_receiver()
    async with start_server() as server:
        messages = []
        for options, _ in INVALID_REGISTRATIONS:
            arguments = {"user_id": USER, "url": receiver.url, **options}
            messages.append(await server.call_error("register_webhook", arguments))
        listed = await server.call_ok("list_webhooks", {"user_id": USER})

    for (options, expected_parts), message in zip(INVALID_REGISTRATIONS, messages, strict=True):
        for part in expected_parts:
            assert part in message, f"register_webhook with {options!r}: {message}"
    assert listed["webhooks"] == []
