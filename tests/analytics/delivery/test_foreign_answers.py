"""Answers that are no verdict of the service on the data (a redirect from an SSO proxy or a
moved host; a 400 page from something in the way): the real adapters against the loopback
stand-in keep every event, follow nothing, delete nothing, and say in one line what happened."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from blackboxai.analytics.delivery.run import deliver
from blackboxai.analytics.delivery.sinks.mixpanel import import_error
from blackboxai.analytics.delivery.sinks.posthog import capture_error
from blackboxai.analytics.queue.spool import Spool
from tests.loopback import NGINX_400, Backend
from tests.support import config, mixpanel_at, posthog_at, spooled

LOGIN = "<html><body>Please log in</body></html>"
PATHS = {"posthog": "/batch/", "mixpanel": "/import"}


def at(service: str, url: str):
    return posthog_at(url) if service == "posthog" else mixpanel_at(url)


def waiting_ids(data_dir: Path) -> list[str]:
    return [str(r["id"]) for r in Spool(data_dir).records()]


@pytest.mark.parametrize("service", ["posthog", "mixpanel"])
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_never_followed_and_every_event_is_kept(
    data_dir: Path, backend: Backend, service: str, status: int
) -> None:
    """Followed, a 301-303 turns the post into a GET of a login page whose 200 looked like
    success (the queue was emptied, nothing taken); a 307/308 posts the events to another host."""
    path = PATHS[service]
    with Backend() as elsewhere:
        records = spooled(data_dir, 3, to=[at(service, backend.url)])
        location = "/login" if status < 307 else elsewhere.url + path
        backend.pages["/login"] = LOGIN
        backend.redirect(status, location, times=10)
        outcome = deliver(config(data_dir))
    assert backend.requests == [path]  # one post; no GET of the login page, no retry
    assert elsewhere.requests == []  # the events never reached the other host
    assert outcome.sent == {} and outcome.kept == {service: 3} and outcome.rejected == {}
    assert outcome.errors == {
        service: f"HTTP {status}: the host answered with a redirect to {location}, not followed"
    }
    assert waiting_ids(data_dir) == [str(r["id"]) for r in records]


def test_analytics_send_says_in_one_line_that_the_host_redirected(
    cli, data_dir: Path, backend: Backend
) -> None:
    spooled(data_dir, 2, to=[posthog_at(backend.url)])
    backend.pages["/login"] = LOGIN
    backend.redirect(302, "/login", times=10)
    sent = cli("analytics", "send")
    assert sent.returncode == 1 and sent.stderr == ""  # events kept: status 1, as documented
    assert (
        "posthog: sent 0, rejected 0, kept 2 for later (HTTP 302: the host answered with a "
        "redirect to /login, not followed)"
    ) in sent.stdout.splitlines()
    assert backend.requests == ["/batch/"] and len(waiting_ids(data_dir)) == 2


@pytest.mark.parametrize("service", ["posthog", "mixpanel"])
def test_a_host_that_answers_400_to_everything_deletes_nothing_and_is_asked_once(
    data_dir: Path, backend: Backend, service: str
) -> None:
    """nginx answers plain HTTP sent to its HTTPS port with an HTML 400. Read as the service's
    verdict, each batch was halved down to single events (2n-1 requests) and all deleted."""
    other = "mixpanel" if service == "posthog" else "posthog"
    with Backend("tls-port") as tls_port:
        records = spooled(data_dir, 40, to=[at(service, tls_port.url), at(other, backend.url)])
        outcome = deliver(config(data_dir))
    assert tls_port.requests == [PATHS[service]]  # one request, not 79
    assert outcome.rejected == {} and outcome.kept == {service: 40}
    assert outcome.sent == {other: 40}  # the other destination is not held up
    assert outcome.errors[service].startswith(f"HTTP 400 in a form {service} never answers with")
    assert waiting_ids(data_dir) == [str(r["id"]) for r in records]


def test_analytics_send_says_in_one_line_that_something_else_answered_400(
    cli, data_dir: Path
) -> None:
    with Backend("tls-port") as tls_port:
        spooled(data_dir, 2, to=[posthog_at(tls_port.url)])
        sent = cli("analytics", "send")
    assert sent.returncode == 1 and sent.stderr == ""
    assert (
        "posthog: sent 0, rejected 0, kept 2 for later (HTTP 400 in a form posthog never "
        "answers with: a proxy in the way, or http:// sent to an https port? Nothing was "
        "deleted)"
    ) in sent.stdout.splitlines()
    assert "Deleted" not in sent.stdout and len(waiting_ids(data_dir)) == 2


@pytest.mark.parametrize(
    ("body", "own"),
    [
        ("failed to parse request: invalid type: null, expected a string", True),  # rust/capture
        ("event submitted without a distinct_id", True),
        ("maximum event size exceeded: 1048577 bytes", True),
        ("Failed to buffer the request body: length limit exceeded", True),  # axum's body limit
        (
            '{"type": "validation_error", "code": "invalid_payload", "detail": "x", "attr": null}',
            True,
        ),
        (NGINX_400, False),
        ("Bad Request", False),
        ('{"detail": "Bad Request"}', False),
        ("", False),
    ],
)
def test_a_posthog_400_counts_only_in_captures_own_words(body: str, own: bool) -> None:
    assert capture_error(body) is own


STRICT_INVALID = {  # the docs' StrictInvalid example, cut short
    "code": 400,
    "num_records_imported": 1,
    "status": "Bad Request",
    "failed_records": [{"index": 0, "field": "properties.time", "message": "x"}],
}
PARSE_ERROR = {"code": 400, "error": "unable to parse the request body", "status": "Bad Request"}
TOO_LARGE = {
    "code": 413,
    "error": "request exceeds max limit",
    "status": "Request Entity Too Large",
}


@pytest.mark.parametrize(
    ("body", "status", "own"),
    [
        (json.dumps(STRICT_INVALID), 400, True),
        (json.dumps(PARSE_ERROR), 400, True),
        (json.dumps(TOO_LARGE), 413, True),
        ('{"code": 200, "error": "x"}', 400, False),  # a code that is not the answer's
        ('{"error": "bad request"}', 400, False),
        ('{"code": true, "error": "x"}', 1, False),
        (NGINX_400, 400, False),
        ("[1, 2]", 400, False),
    ],
)
def test_a_mixpanel_400_counts_only_as_imports_own_json(body: str, status: int, own: bool) -> None:
    assert import_error(body, status) is own
