"""mailbox: the TEST-ONLY mailbox, ``GET /api/dev/mailbox?to=EMAIL&kind=KIND``, reading the
SIS's email outbox (``sis.email_outbox``) over HTTP.

The staging SIS sends no mail: registration codes, confirmation tokens and password-reset tokens
are rows of the outbox. A load test only speaks HTTP, so to walk those flows as a person would
(request a code, read the email, type it in) it reads them here. The route exists only with
``FIRSTBELL_DEV_MAILBOX=1`` (mounted by ``staging.app``, which logs `WARNING` at start and sets
``sis_dev_mailbox`` to 1), and answers loopback clients only: whoever reads the mailbox can take
over any account whose reset or registration email it holds.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from staging.api_docs import answers
from staging.db import Database
from staging.errors import ApiError

router = APIRouter(prefix="/api/dev", tags=["dev (test only)"], responses=answers(403, 422))

WARNING = (
    "!!! FIRSTBELL_DEV_MAILBOX is on: GET /api/dev/mailbox hands out every email the SIS sends"
    " (registration codes, password-reset tokens) to loopback clients. For load tests only;"
    " never on a server real people use. !!!")

MESSAGES = """
SELECT kind, subject, body, created_at FROM sis.email_outbox
WHERE lower(to_address) = lower(%(to)s) AND (%(kind)s::text IS NULL OR kind = %(kind)s)
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s
"""


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@router.get("/mailbox")
async def mailbox(request: Request,
                  to: Annotated[str, Query(min_length=3, max_length=320)],
                  kind: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
                  limit: Annotated[int, Query(ge=1, le=100)] = 10) -> list[dict[str, Any]]:
    """The newest messages sent to `to` (any case), newest first, optionally of one `kind`
    (``registration_code``, ``registration_confirm``, ``password_reset``, …)."""
    # The socket's peer, never a forwarded-for header: a proxy in front would make every
    # client look local, and a header is the client's to forge.
    host = request.client.host if request.client else ""
    if not is_loopback(host):
        raise ApiError(403, "forbidden", "the test mailbox answers loopback clients only")
    db: Database = request.app.state.db
    rows = await db.fetch("dev.mailbox", MESSAGES, {"to": to, "kind": kind, "limit": limit})
    return [{"kind": r["kind"], "subject": r["subject"], "body": r["body"],
             "created_at": r["created_at"].isoformat()} for r in rows]
