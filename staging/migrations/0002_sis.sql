-- The SIS's own tables, on top of the district tables the fake_data loader created
-- (schools, students, guardians, staff, sections, enrollments, accounts, ...).

-- Login state on the seeded accounts. Constant defaults: no table rewrite on 800k rows.
ALTER TABLE sis.accounts
    ADD COLUMN failed_logins  integer NOT NULL DEFAULT 0,
    ADD COLUMN locked_until   timestamptz,
    ADD COLUMN last_login_at  timestamptz;

-- Enrollment status for the registrar's enroll / transfer / withdraw.
ALTER TABLE sis.students
    ADD COLUMN enrollment_status  text NOT NULL DEFAULT 'active',
    ADD COLUMN withdrawn_on       date;

CREATE TABLE sis.sessions (
    token_hash    bytea PRIMARY KEY,
    user_id       integer NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    ended_at      timestamptz
);
CREATE INDEX sessions_user_idx ON sis.sessions (user_id) WHERE ended_at IS NULL;

CREATE TABLE sis.email_outbox (
    id          bigserial PRIMARY KEY,
    to_address  text NOT NULL,
    kind        text NOT NULL,
    subject     text NOT NULL,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sis.password_resets (
    token_hash  bytea PRIMARY KEY,
    user_id     integer NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    used_at     timestamptz
);
CREATE INDEX password_resets_user_idx ON sis.password_resets (user_id, created_at);

CREATE TABLE sis.attendance_daily (
    date         date NOT NULL,
    student_id   integer NOT NULL,
    school_id    integer NOT NULL,
    status       text NOT NULL,
    section_id   integer,
    recorded_by  integer,
    recorded_at  timestamptz,
    PRIMARY KEY (student_id, date)
);
CREATE INDEX attendance_daily_school_date_idx ON sis.attendance_daily (school_id, date);

CREATE TABLE sis.attendance_period (
    date         date NOT NULL,
    section_id   integer NOT NULL,
    period       smallint NOT NULL,
    student_id   integer NOT NULL,
    status       text NOT NULL,
    recorded_by  integer,
    recorded_at  timestamptz,
    PRIMARY KEY (section_id, date, student_id)
);
CREATE INDEX attendance_period_student_idx ON sis.attendance_period (student_id, date);

CREATE TABLE sis.line_items (
    line_item_id     serial PRIMARY KEY,
    section_id       integer NOT NULL,
    category         text NOT NULL,
    title            text,
    assigned_date    date NOT NULL,
    due_date         date NOT NULL,
    points_possible  real NOT NULL,
    created_by       integer
);
CREATE INDEX line_items_section_idx ON sis.line_items (section_id, due_date);

CREATE TABLE sis.scores (
    line_item_id  integer NOT NULL,
    student_id    integer NOT NULL,
    score         real,
    score_status  text NOT NULL,
    updated_at    timestamptz,
    PRIMARY KEY (line_item_id, student_id)
);
CREATE INDEX scores_student_idx ON sis.scores (student_id);

CREATE TABLE sis.term_grades (
    section_id  integer NOT NULL,
    student_id  integer NOT NULL,
    session_id  integer NOT NULL,
    grade       text NOT NULL,
    posted_by   integer NOT NULL,
    posted_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (section_id, student_id, session_id)
);
CREATE INDEX term_grades_student_idx ON sis.term_grades (student_id);

CREATE TABLE sis.absence_notices (
    id           bigserial PRIMARY KEY,
    student_id   integer NOT NULL,
    submitted_by integer NOT NULL,
    date         date NOT NULL,
    reason       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX absence_notices_student_idx ON sis.absence_notices (student_id, date);

CREATE TABLE sis.sim_audit (
    id          bigserial PRIMARY KEY,
    actor       integer NOT NULL,
    action      text NOT NULL,
    student_id  integer NOT NULL,
    detail      jsonb NOT NULL DEFAULT '{}',
    at          timestamptz NOT NULL DEFAULT now()
);

-- Fault injection shared by every server worker (each polls it).
CREATE TABLE sis.faults (
    id          integer PRIMARY KEY CHECK (id = 1),
    spec        jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
