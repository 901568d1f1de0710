-- Failed logins per (username as typed, client address), and per username from every address
-- (address '*'): the lockout and the slow-down of staging/throttle.py. Keyed by the username
-- sent, not the account, so an unknown username is counted and locked exactly like an account
-- (the answers never tell which exist). sis.accounts.failed_logins/locked_until are no longer
-- used by logins.
CREATE TABLE sis.login_failures (
    username      text NOT NULL,
    address       text NOT NULL,
    failures      integer NOT NULL,
    last_at       timestamptz NOT NULL DEFAULT now(),
    locked_until  timestamptz,
    PRIMARY KEY (username, address)
);
CREATE INDEX login_failures_last_idx ON sis.login_failures (last_at);
