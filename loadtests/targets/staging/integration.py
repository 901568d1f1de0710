"""A OneRoster nightly sync client on the staging SIS: an OAuth 2 client-credentials token, then
the rostering collections page by page, following the ``Link`` header.

The identity is an OAuth client (``client_id``, ``client_secret``), not a user pool row. A
session pulls at most `MAX_PAGES` pages of each collection, so a run spreads the sync over many
sessions instead of one that outlives the test.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qsl, quote, urlsplit

from loadtests.browser import Browser, Response
from loadtests.targets.staging import checks

ROSTERING = "/ims/oneroster/rostering/v1p2"
COLLECTIONS = {"orgs": "oneroster.orgs", "academicSessions": "oneroster.academic_sessions",
               "classes": "oneroster.classes", "users": "oneroster.users",
               "enrollments": "oneroster.enrollments"}
LIMIT = 500
MAX_PAGES = 3
# A sync client does not read; it pauses briefly between pages and collections so as not to
# hammer the SIS, as well-behaved integrations do.
THINK_PAGE, THINK_COLLECTION = 0.5, 2.0
NEXT = re.compile(r'<([^>]*)>\s*;\s*rel="?next"?')


def session(browser: Browser) -> None:
    me = browser.identity
    # RFC 6749 2.3.1: the id and secret are form-encoded before the Basic encoding.
    pair = f"{quote(me['client_id'], safe='')}:{quote(me['client_secret'], safe='')}"
    basic = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    body = checks.page(browser.post("oauth.token", "/oauth/token", token=None,
                                    data={"grant_type": "client_credentials"},
                                    headers={"Authorization": basic}))
    token = body.get("access_token") if isinstance(body, dict) else None
    if not token:
        return
    bearer = {"Authorization": f"Bearer {token}"}
    pages = int(browser.options.get("max_pages", MAX_PAGES))
    for number, (collection, endpoint) in enumerate(COLLECTIONS.items()):
        if number:
            browser.think(THINK_COLLECTION)
        params: dict[str, str] | None = {"limit": str(LIMIT)}
        for page_number in range(pages):
            if params is None:
                break
            if page_number:
                browser.think(THINK_PAGE)
            offset = int(params.get("offset", 0))
            r = browser.get(endpoint, f"{ROSTERING}/{collection}", params=params, token=None,
                            headers=bearer, check=checks.page_size(collection, LIMIT, offset))
            params = next_page(r)


def next_page(r: Response) -> dict[str, str] | None:
    """The query of the page after this one (from the ``Link`` header), or None at the end."""
    if not checks.ok(r):
        return None
    found = NEXT.search(checks.header(r, "Link") or "")
    if found is None:
        return None
    return dict(parse_qsl(urlsplit(found.group(1)).query))
