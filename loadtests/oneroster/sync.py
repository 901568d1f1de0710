"""The nightly sync: an integration pages through every rostering collection to its end, the
way LMS and edtech vendors pull a district each night, spread over many short sessions.

A session does not start over at offset 0. One `Cursor` per OAuth client per load process
(made once per run through ``browser.shared``) says which page comes next: each session reads
up to ``max_pages`` pages from where the previous sessions stopped, a finished collection hands
over to the next, and after the last one the whole district has been read once (a *pass*) and
the sync starts over. A page that failed goes back to the cursor and is read again; no other
page is read twice.

Across load processes: the engine gives each OAuth client to exactly one load process (worker
*k* of *n* owns the clients at positions *k*, *k*+*n*, … of ``--oneroster-client``), so a
client's whole sync, its cursor and its concurrency limit live in that one process and the
processes' shares are disjoint without any coordination.

Concurrency: at most ``concurrency`` sessions of one client are in flight at once (`Slots`);
a session that finds them all taken waits for one (counted), up to `SLOT_WAIT_LIMIT`.

Counters (family ``oneroster``, in the run summary): ``pages|<collection>``,
``rows|<collection>``, ``passes``, ``tokens``, ``refused`` (the provider refused the
credentials: 400/401/403), ``token_failed``, ``page_failed|<collection>``,
``page_capped|<collection>`` (the provider answered fewer rows than asked although more
remain: its own page-size cap; the cursor adopts it), ``slot_waits``, ``slot_wait_seconds``,
``slot_gave_up``.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from loadtests.browser import Browser, Check, Response
from loadtests.oneroster.auth import Signer
from loadtests.oneroster.spec import BASE_PATHS
from loadtests.stats import key

MAX_PAGE_SIZE = 50_000   # Infinite Campus's published maximum page size; the cap here
SLOT_POLL = 0.25         # seconds between looks for a free slot
SLOT_WAIT_LIMIT = 600.0  # a session waits at most this long for a slot, then ends (counted)
# A sync client does not read; it pauses briefly between pages and collections so as not to
# hammer the SIS, as well-behaved integrations do.
THINK_PAGE, THINK_COLLECTION = 0.5, 2.0
NEXT = re.compile(r'<([^>]*)>\s*;\s*rel="?next"?')
REFUSED = frozenset({400, 401, 403})


@dataclass(frozen=True)
class Page:
    collection: str
    offset: int
    limit: int
    lap: int  # the pass the page was handed out in


class Cursor:
    """Where one client's sync stands in this load process: the collection, the next offset,
    the pages to read again, the passes completed. Claims and answers are short and never
    wait, so the sessions of one process (greenlets, or threads in tests) share it safely."""

    def __init__(self, collections: tuple[str, ...], limit: int) -> None:
        if not collections:
            raise ValueError("a sync cursor needs at least one collection")
        self.collections, self.limit = collections, limit
        self.position, self.offset, self.lap = 0, 0, 0
        self.retry: deque[Page] = deque()
        self.passes = 0
        self._lock = threading.Lock()

    @property
    def collection(self) -> str:
        return self.collections[self.position]

    def claim(self) -> Page:
        """The next page to read: one given back first, else the next offset."""
        with self._lock:
            if self.retry:
                return self.retry.popleft()
            page = Page(self.collection, self.offset, self.limit, self.lap)
            self.offset += self.limit
            return page

    def give_back(self, page: Page) -> None:
        """`page` was not read (refused, failed): the next claim reads it."""
        with self._lock:
            self.retry.append(page)

    def read(self, page: Page, rows: int, total: int | None, more: bool | None) -> str:
        """Record the answer to `page`: `rows` objects, the provider's ``X-Total-Count`` and
        whether its ``Link`` header has a next page (None: no Link header). Returns ``pass``
        when this page ended the last collection, ``capped`` when the provider capped the
        page, else ``""``."""
        with self._lock:
            if page.lap != self.lap or page.collection != self.collection:
                return ""  # a page read again after its collection ended elsewhere
            outcome = ""
            if 0 < rows < page.limit and total is not None and page.offset + rows < total:
                # the provider's own cap: continue right after what it gave, at its size
                self.limit, self.offset, outcome = rows, page.offset + rows, "capped"
            if total is not None:
                ended = self.offset >= total
            elif more is not None:
                ended = not more and page.offset + page.limit >= self.offset
            else:
                ended = rows < page.limit
            if not ended:
                return outcome
            self.position, self.offset = self.position + 1, 0
            if self.position == len(self.collections):
                self.position, self.lap, self.passes = 0, self.lap + 1, self.passes + 1
                return "pass"
            return outcome


class Slots:
    """At most `size` sessions of one client in flight in this process."""

    def __init__(self, size: int) -> None:
        self.size, self.busy, self.most = max(1, size), 0, 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.busy >= self.size:
                return False
            self.busy += 1
            self.most = max(self.most, self.busy)
            return True

    def release(self) -> None:
        with self._lock:
            self.busy -= 1


def client_key(identity: Mapping[str, object]) -> str:
    return f"{identity.get('client_id')}@{identity.get('base_url') or 'target'}"


def run(browser: Browser, labels: Mapping[str, str], *, page_size: int, concurrency: int,
        max_pages: int, check: Callable[[str, int, int], Check] | None = None) -> None:
    """One session of the nightly sync: take a slot, then read up to `max_pages` pages where
    the client's cursor stands. `labels` maps each collection, in sync order, to its endpoint
    label; `check(collection, limit, offset)` may add a target's own content check."""
    me = browser.identity
    client = client_key(me)
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    slots = browser.shared(f"oneroster.slots|{client}", lambda: Slots(int(concurrency)))
    cursor = browser.shared(f"oneroster.cursor|{client}",
                            lambda: Cursor(tuple(labels), page_size))
    if not _take_slot(browser, slots):
        return
    try:
        _pages(browser, labels, cursor, int(max_pages), check)
    finally:
        slots.release()


def _count(browser: Browser, *parts: str, amount: float = 1) -> None:
    browser.count(key("oneroster", *parts), amount)


def _take_slot(browser: Browser, slots: Slots) -> bool:
    if slots.take():
        return True
    _count(browser, "slot_waits")
    began = time.monotonic()
    try:
        while not slots.take():
            if time.monotonic() - began > SLOT_WAIT_LIMIT:
                _count(browser, "slot_gave_up")
                return False
            browser.wait(SLOT_POLL)
        return True
    finally:
        _count(browser, "slot_wait_seconds", amount=time.monotonic() - began)


def _pages(browser: Browser, labels: Mapping[str, str], cursor: Cursor, max_pages: int,
           check: Callable[[str, int, int], Check] | None) -> None:
    me = browser.identity
    signer = Signer(browser, me, lambda name: _count(browser, name))
    root = str(me.get("base_url") or "") + str(me.get("base_path") or BASE_PATHS["1.2"])
    previous = None
    for number in range(max_pages):
        page = cursor.claim()
        if number:
            browser.think(THINK_COLLECTION if page.collection != previous else THINK_PAGE)
        previous = page.collection
        query = [("limit", str(page.limit)), ("offset", str(page.offset))]
        url = f"{root}/{page.collection}"
        headers = signer.headers("GET", url, query)
        if headers is None:  # no token: the provider refused the client, or failed
            cursor.give_back(page)
            _count(browser, "refused" if signer.refused in REFUSED else "token_failed")
            return
        r = browser.get(labels[page.collection], f"{url}?{urlencode(query)}", token=None,
                        headers=headers, check=_checks(page, check))
        rows = _rows(r, page.collection)
        if rows is None:
            cursor.give_back(page)
            _count(browser, *(("refused",) if r.status_code in REFUSED
                              else ("page_failed", page.collection)))
            return
        _count(browser, "pages", page.collection)
        _count(browser, "rows", page.collection, amount=rows)
        outcome = cursor.read(page, rows, _total(r), _more(r))
        if outcome == "pass":
            _count(browser, "passes")
        elif outcome == "capped":
            _count(browser, "page_capped", page.collection)


def _checks(page: Page, extra: Callable[[str, int, int], Check] | None) -> Check:
    target = extra(page.collection, page.limit, page.offset) if extra else None

    def check(r: Response) -> str | None:
        if _rows(r, page.collection) is None:
            return f"the answer has no {page.collection} list"
        if (_rows(r, page.collection) or 0) > page.limit:
            return f"more than the {page.limit} objects asked for"
        return target(r) if target else None
    return check


def _rows(r: Response, collection: str) -> int | None:
    """How many objects a page answered, or None when it is no page (not 2xx, not JSON)."""
    if not 200 <= r.status_code < 300:
        return None
    try:
        items = r.json()[collection]
    except (ValueError, KeyError, TypeError):
        return None
    return len(items) if isinstance(items, list) else None


def _header(r: Response, name: str) -> str | None:
    value = r.headers.get(name)
    if value is None:
        value = next((v for k, v in r.headers.items() if k.lower() == name.lower()), None)
    return value


def _total(r: Response) -> int | None:
    value = (_header(r, "X-Total-Count") or "").strip()
    return int(value) if value.isdigit() else None


def _more(r: Response) -> bool | None:
    link = _header(r, "Link")
    return None if link is None else NEXT.search(link) is not None
