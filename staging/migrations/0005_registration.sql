-- Parent self-registration on cutover day (staging/registration.py).

-- Every code request, for the hourly limits per email and per client IP; `outcome` says what
-- was sent (a code, a "contact the school" message) or why nothing was.
CREATE TABLE sis.registration_requests (
    id          bigserial PRIMARY KEY,
    email       text NOT NULL,
    client_ip   text NOT NULL,
    outcome     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX registration_requests_email_idx ON sis.registration_requests (email, created_at);
CREATE INDEX registration_requests_ip_idx ON sis.registration_requests (client_ip, created_at);

-- Emailed six-digit codes, stored hashed. A code is spent when verified, replaced by a newer
-- one, or after too many wrong tries.
CREATE TABLE sis.registration_codes (
    id          bigserial PRIMARY KEY,
    email       text NOT NULL,
    user_id     integer NOT NULL,
    code_hash   bytea NOT NULL,
    attempts    smallint NOT NULL DEFAULT 0,
    expires_at  timestamptz NOT NULL,
    spent_at    timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX registration_codes_open_idx ON sis.registration_codes (email, created_at)
    WHERE spent_at IS NULL;

-- One-time tokens, stored hashed: 'account' (a verified code, to choose a password) and
-- 'confirm' (the second email, to activate the account).
CREATE TABLE sis.registration_tokens (
    token_hash  bytea PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('account', 'confirm')),
    user_id     integer NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX registration_tokens_user_idx ON sis.registration_tokens (user_id)
    WHERE used_at IS NULL;

-- Wrong child access codes per guardian: the guessing limit counts them.
CREATE TABLE sis.child_link_failures (
    id           bigserial PRIMARY KEY,
    guardian_id  integer NOT NULL,
    student_id   integer NOT NULL,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX child_link_failures_guardian_idx ON sis.child_link_failures (guardian_id, at);

-- Guardians by email: a guardian's username is not always their email (a duplicate-email
-- record has a username of its own), and registration starts from the email.
CREATE INDEX accounts_guardian_email_idx ON sis.accounts (lower(email))
    WHERE person_type = 'guardian';

-- Every student has an access code (the paper letter a parent links the child with). A
-- generated district brings its own; a district imported from OneRoster has none (the standard
-- has no such field), and a student enrolled later through the registrar gets one on insert.
-- Random bytes come from gen_random_uuid (a strong source), skipping its fixed version bits.
CREATE FUNCTION sis.new_access_code() RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT string_agg(substr('ABCDEFGHJKMNPQRSTUVWXYZ23456789',
                             1 + get_byte(u.b, i) % 31, 1), '' ORDER BY i)
    FROM (SELECT uuid_send(gen_random_uuid()) AS b) u,
         unnest(ARRAY[0, 1, 2, 3, 4, 5, 10, 11]) AS i
$$;
ALTER TABLE sis.students ADD COLUMN IF NOT EXISTS access_code text;
ALTER TABLE sis.students ALTER COLUMN access_code SET DEFAULT sis.new_access_code();
UPDATE sis.students SET access_code = sis.new_access_code() WHERE access_code IS NULL;
