"""Answers that are no verdict of the service on the data (a redirect from an SSO proxy or a
moved host): the real adapters against the loopback stand-in keep every event, follow nothing,
and say in one line what happened."""

from __future__ import annotations

from pathlib import Path

import pytest

from blackboxai.analytics.spool import Spool
from blackboxai.analytics.upload import deliver
from tests.loopback import Backend
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
