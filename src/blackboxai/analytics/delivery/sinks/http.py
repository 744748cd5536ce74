"""The adapters' HTTP session: one request per send, no retries, and no redirect ever followed."""

from __future__ import annotations

from typing import Any

import requests
from requests.models import PreparedRequest, Response

from blackboxai.terminal import shown

__all__ = ["NoRedirects", "status_detail"]


class NoRedirects(requests.Session):
    """A session that hands a 3xx back as the answer instead of following it.

    Followed, a POST answered 301/302/303 becomes a GET of the Location (a login page, a
    captive portal), whose 200 would count as the events taken while nothing took them; a
    307/308 would post the events again to whatever host the Location names. A redirect is
    not a verdict on the data, so the retry layer keeps the events and says what happened.
    The SDKs post through `session.post(...)` without `allow_redirects`, so it is forced here,
    where every request passes. (Not max_redirects = 0: requests prepares the next request of
    an unfollowed redirect all the same, and that raises TooManyRedirects, losing the answer.)"""

    def __init__(self) -> None:
        super().__init__()
        # The last answer, as it came: an SDK that reads it for us keeps only part of it (the
        # PostHog SDK's APIError has the status and a message, not the headers or the body).
        self.last: Response | None = None

    def send(self, request: PreparedRequest, **kwargs: Any) -> Response:
        kwargs["allow_redirects"] = False
        self.last = None
        self.last = super().send(request, **kwargs)
        return self.last

    @property
    def location(self) -> str | None:
        """Where the last answer pointed, if it was a redirect."""
        last = self.last
        return last.headers.get("Location") if last is not None and last.is_redirect else None

    @property
    def body(self) -> str:
        """The text of the last answer ("" without one)."""
        return self.last.text if self.last is not None else ""


def status_detail(status: int, location: str | None = None) -> str:
    """What an HTTP status says, in a few words for `analytics send` and `status`: a redirect
    names where it pointed (cut, and printable only: it is the server's text)."""
    if 300 <= status < 400:
        where = ""
        if location:
            where = f" to {shown(location, 80)}"
        return f"HTTP {status}: the host answered with a redirect{where}, not followed"
    return f"HTTP {status}"
