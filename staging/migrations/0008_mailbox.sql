-- The test mailbox (staging/mailbox.py, FIRSTBELL_DEV_MAILBOX) reads one address's newest
-- messages. Load tests poll it in every registration and password-reset session, so it must
-- not scan an outbox that grows by the session.
CREATE INDEX email_outbox_to_idx ON sis.email_outbox (lower(to_address), created_at);
