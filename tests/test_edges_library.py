"""Issue #22: the library (`blackboxai.analytics.Analytics`, docs/library.md) used as another
program would use it: an empty data dir, and a program that forgets close()."""

from __future__ import annotations

import os
from pathlib import Path

from blackboxai.analytics import Analytics
from tests.loopback import refused_url


def test_an_empty_data_dir_is_refused_and_nothing_is_written_to_the_current_directory() -> None:
    """As an empty log path is: Path("") is the current directory, which is no place for
    consent (and would make whatever directory a user runs from hold it)."""
    here = Path.cwd()
    analytics = Analytics(
        data_dir="", posthog_host=refused_url(), posthog_project_api_key="phc_test"
    )
    assert analytics.opt_in() is False
    assert analytics.last_error is not None and "data_dir is empty" in analytics.last_error
    assert analytics.enable() is False
    analytics.event("launched")
    assert analytics.disable(permanently=True) is False
    assert analytics.last_error is not None and "data_dir is empty" in analytics.last_error
    assert analytics.reset_id() is False
    assert analytics.clear_pending() == 0
    assert analytics.pending_count() == 0
    analytics.close()
    assert os.listdir(here) == []
