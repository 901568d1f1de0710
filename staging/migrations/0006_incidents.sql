-- Behavior incidents: the discipline log of the old systems (staging/incidents.py).
-- An incident keeps the school where it was recorded, also after the student transfers.

CREATE TABLE sis.incidents (
    incident_id  serial PRIMARY KEY,
    student_id   integer NOT NULL,
    school_id    integer NOT NULL,
    reported_by  integer NOT NULL,                -- staff_id
    occurred_at  timestamptz NOT NULL,
    location     text CHECK (length(location) BETWEEN 1 AND 120),
    category     text NOT NULL CHECK (category IN (
                     'disruption', 'defiance', 'fighting', 'bullying', 'tardiness',
                     'property', 'other')),
    severity     smallint NOT NULL CHECK (severity BETWEEN 1 AND 4),
    description  text NOT NULL CHECK (length(description) BETWEEN 1 AND 2000),
    status       text NOT NULL DEFAULT 'reported' CHECK (status IN (
                     'reported', 'under_review', 'resolved', 'dismissed')),
    reviewed_by  integer,                         -- staff_id of the last review
    reviewed_at  timestamptz,
    resolution   text CHECK (resolution IN (
                     'conference', 'detention', 'suspension_in_school',
                     'suspension_out_of_school', 'no_action')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- The API's rules, kept by the table too: a resolution exactly when resolved, and every
    -- status past 'reported' names who reviewed it and when.
    CONSTRAINT incidents_resolution_chk CHECK ((status = 'resolved') = (resolution IS NOT NULL)),
    CONSTRAINT incidents_review_chk CHECK (
        (status = 'reported') = (reviewed_by IS NULL AND reviewed_at IS NULL))
);
-- The administrators' review queue: a school's incidents by status, newest first.
CREATE INDEX incidents_school_status_idx ON sis.incidents (school_id, status, occurred_at);
-- A student's incidents (portal, student record).
CREATE INDEX incidents_student_idx ON sis.incidents (student_id);
-- A teacher's or clerk's own reports, newest first.
CREATE INDEX incidents_reporter_idx ON sis.incidents (reported_by, occurred_at);
