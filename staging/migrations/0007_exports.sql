-- Downloads and bulk exports: every one is logged (who, as what role, which report, whose data,
-- how many rows), so an unusually large export can be traced to a person after an alert fires.
CREATE TABLE sis.export_log (
    id          bigserial PRIMARY KEY,
    user_id     integer NOT NULL,
    role        text NOT NULL,
    kind        text NOT NULL,
    scope       text NOT NULL,
    rows        bigint NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- "What did this account export lately" is the question an investigation asks first.
CREATE INDEX export_log_user_idx ON sis.export_log (user_id, created_at);

-- A spreadsheet runs a cell starting with = + - @ (or a tab or carriage return) as a formula
-- (CSV injection): exported free text gets a leading apostrophe instead, as OWASP advises.
CREATE FUNCTION sis.csv_text(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN value ~ '^[=+@\t\r-]' THEN '''' || value ELSE value END $$;
