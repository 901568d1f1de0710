"""A OneRoster nightly sync client on the staging SIS: OAuth 2 client credentials, then the
rostering collections page by page, continuing where the previous sessions stopped
(`loadtests.oneroster.sync`), until the whole district is read; then it starts over.

The identity is an OAuth client from ``--oneroster-client`` (not a user pool row); a client
with a base URL of its own is another provider's (OneRoster 1.1 or 1.2, OAuth 1.0a or 2) and
the same path syncs it. The knobs:

- ``page_size`` 500 rows (``limit``): the page the built-in nightly-sync day's rates are
  computed for (`integration.sessions_per_row`: 15 pages of 500 rows a session), within the
  OneRoster 1.2 binding's "up to 5,000" and Infinite Campus's published 50,000 cap (the
  cap here); the spec's own default of 100 would quintuple the requests per row.
- ``concurrency`` 1 session of a client in flight at once: Infinite Campus asks for no
  concurrent requests at peak (at most 5 off-peak); more sessions wait for the slot.
- ``max_pages`` 15 pages a session (across collections), so a run spreads the sync over many
  sessions instead of one that outlives the test.
"""

from __future__ import annotations

from loadtests.browser import Browser
from loadtests.oneroster import sync
from loadtests.targets.staging import checks

COLLECTIONS = {"orgs": "oneroster.orgs", "academicSessions": "oneroster.academic_sessions",
               "classes": "oneroster.classes", "users": "oneroster.users",
               "enrollments": "oneroster.enrollments"}
PAGE_SIZE = 500
CONCURRENCY = 1
MAX_PAGES = 15


def session(browser: Browser) -> None:
    # the staging SIS's exact page check (X-Total-Count, min(limit, rest) objects) on its
    # own answers; another provider's pages are checked for their list only
    staging = not browser.identity.get("base_url")
    sync.run(browser, COLLECTIONS,
             page_size=int(browser.options.get("page_size", PAGE_SIZE)),
             concurrency=int(browser.options.get("concurrency", CONCURRENCY)),
             max_pages=int(browser.options.get("max_pages", MAX_PAGES)),
             check=checks.page_size if staging else None)
