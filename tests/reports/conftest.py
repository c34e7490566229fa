"""Fixtures of the report tests: the real headless chromium."""

import os

import pytest

from tests.browser import Browser, find_chromium


@pytest.fixture(scope="module")
def browser():
    """The one place that decides between skip and fail: on CI a missing chromium is an error."""
    executable = find_chromium()
    if executable is None:
        reason = "Debian's chromium package is not installed: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set: the browser tests must run there)")
        pytest.skip(reason)
    with Browser(executable) as chromium:
        yield chromium
