-- OneRoster 1.2 REST (staging/oauth.py, staging/oneroster_*.py): OAuth 2 clients and tokens,
-- gradebook categories, client-chosen sourcedIds on line items and results, and change times so
-- a delta sync (filter=dateLastModified>'…') sees what changed after the seed.

-- Integrations authenticate as OAuth 2 clients (client credentials), not as people.
CREATE TABLE sis.oauth_clients (
    client_id    text PRIMARY KEY,
    secret_hash  text NOT NULL,                 -- PBKDF2, staging/passwords.py format
    name         text NOT NULL,
    scopes       text[] NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Bearer tokens, stored hashed (SHA-256): a database dump hands out no working token.
CREATE TABLE sis.oauth_tokens (
    token_hash  bytea PRIMARY KEY,
    client_id   text NOT NULL REFERENCES sis.oauth_clients ON DELETE CASCADE,
    scopes      text[] NOT NULL,
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX oauth_tokens_client_idx ON sis.oauth_tokens (client_id, expires_at);

-- Gradebook categories; `category` is the value sis.line_items.category holds.
CREATE TABLE sis.gradebook_categories (
    sourced_id   text PRIMARY KEY,
    category     text NOT NULL UNIQUE,
    title        text NOT NULL,
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'tobedeleted')),
    weight       double precision,
    modified_at  timestamptz
);
-- Weights are informational: the SIS's percent is total points earned over points possible.
INSERT INTO sis.gradebook_categories (sourced_id, category, title, weight) VALUES
    ('cat-homework', 'homework', 'Homework', 0.2),
    ('cat-classwork', 'classwork', 'Classwork', 0.2),
    ('cat-quiz', 'quiz', 'Quiz', 0.25),
    ('cat-test', 'test', 'Test', 0.35);

-- A line item or result created by an LMS keeps the sourcedId the LMS chose; the SIS's own rows
-- have none stored and answer as li-<line_item_id> / res-<line_item_id>-<student_id>. Partial
-- unique indexes: the seeded rows (all NULL) cost nothing to load.
ALTER TABLE sis.line_items
    ADD COLUMN sourced_id         text,
    ADD COLUMN description        text,
    ADD COLUMN grading_period_id  integer,
    ADD COLUMN modified_at        timestamptz;
CREATE UNIQUE INDEX line_items_sourced_id_idx ON sis.line_items (sourced_id)
    WHERE sourced_id IS NOT NULL;
ALTER TABLE sis.scores
    ADD COLUMN sourced_id  text,
    ADD COLUMN comment     text;
CREATE UNIQUE INDEX scores_sourced_id_idx ON sis.scores (sourced_id)
    WHERE sourced_id IS NOT NULL;

-- Change times. NULL means "as seeded": the API answers the seed time (the profile's cutover
-- date) for those. The district is loaded before this migration, so the triggers stamp only
-- what changes afterwards (registrar moves, new enrollments, account changes...).
-- The session a section runs in (summer and evening school sections have their own term). The
-- district loader creates it; a database seeded before it existed has only day classes (NULL).
ALTER TABLE sis.sections ADD COLUMN IF NOT EXISTS session_id integer;

ALTER TABLE sis.schools ADD COLUMN modified_at timestamptz;
ALTER TABLE sis.academic_sessions ADD COLUMN modified_at timestamptz;
ALTER TABLE sis.courses ADD COLUMN modified_at timestamptz;
ALTER TABLE sis.sections ADD COLUMN modified_at timestamptz;
ALTER TABLE sis.enrollments ADD COLUMN modified_at timestamptz;
ALTER TABLE sis.students ADD COLUMN modified_at timestamptz;
ALTER TABLE sis.staff ADD COLUMN modified_at timestamptz;
ALTER TABLE sis.guardians ADD COLUMN modified_at timestamptz;
ALTER TABLE sis.accounts ADD COLUMN modified_at timestamptz;

CREATE FUNCTION sis.touch_modified() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.modified_at := now();
    RETURN NEW;
END $$;

CREATE TRIGGER schools_touch BEFORE INSERT OR UPDATE ON sis.schools
    FOR EACH ROW EXECUTE FUNCTION sis.touch_modified();
CREATE TRIGGER academic_sessions_touch BEFORE INSERT OR UPDATE ON sis.academic_sessions
    FOR EACH ROW EXECUTE FUNCTION sis.touch_modified();
CREATE TRIGGER courses_touch BEFORE INSERT OR UPDATE ON sis.courses
    FOR EACH ROW EXECUTE FUNCTION sis.touch_modified();
CREATE TRIGGER enrollments_touch BEFORE INSERT OR UPDATE ON sis.enrollments
    FOR EACH ROW EXECUTE FUNCTION sis.touch_modified();
CREATE TRIGGER students_touch BEFORE INSERT ON sis.students
    FOR EACH ROW EXECUTE FUNCTION sis.touch_modified();
CREATE TRIGGER students_touch_update BEFORE UPDATE ON sis.students
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION sis.touch_modified();
CREATE TRIGGER staff_touch BEFORE INSERT OR UPDATE ON sis.staff
    FOR EACH ROW EXECUTE FUNCTION sis.touch_modified();
CREATE TRIGGER guardians_touch BEFORE INSERT ON sis.guardians
    FOR EACH ROW EXECUTE FUNCTION sis.touch_modified();
CREATE TRIGGER guardians_touch_update BEFORE UPDATE ON sis.guardians
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION sis.touch_modified();
-- A class is not "modified" when its enrolled count moves with each enrollment.
CREATE TRIGGER sections_touch BEFORE INSERT ON sis.sections
    FOR EACH ROW EXECUTE FUNCTION sis.touch_modified();
CREATE TRIGGER sections_touch_update BEFORE UPDATE ON sis.sections
    FOR EACH ROW WHEN ((OLD.school_id, OLD.course_id, OLD.teacher_id, OLD.grade, OLD.subject,
                        OLD.class_type, OLD.period, OLD.team, OLD.room, OLD.session_id)
                       IS DISTINCT FROM (NEW.school_id, NEW.course_id, NEW.teacher_id,
                        NEW.grade, NEW.subject, NEW.class_type, NEW.period, NEW.team, NEW.room,
                        NEW.session_id))
    EXECUTE FUNCTION sis.touch_modified();
-- Logins update accounts all day; only what a roster shows (username, email, status) counts.
CREATE TRIGGER accounts_touch BEFORE INSERT ON sis.accounts
    FOR EACH ROW EXECUTE FUNCTION sis.touch_modified();
CREATE TRIGGER accounts_touch_update BEFORE UPDATE ON sis.accounts
    FOR EACH ROW WHEN ((OLD.username, OLD.email, OLD.status)
                       IS DISTINCT FROM (NEW.username, NEW.email, NEW.status))
    EXECUTE FUNCTION sis.touch_modified();
-- Teachers' line items (created_by set) are stamped; the seeded history (created_by NULL) is not,
-- and the OneRoster API stamps its own writes.
CREATE TRIGGER line_items_touch BEFORE INSERT OR UPDATE ON sis.line_items
    FOR EACH ROW WHEN (NEW.created_by IS NOT NULL) EXECUTE FUNCTION sis.touch_modified();

-- Integrations look users up by email (filter=email='…').
CREATE INDEX accounts_email_idx ON sis.accounts (email);
CREATE INDEX guardians_email_idx ON sis.guardians (email);
