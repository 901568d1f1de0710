-- firstbell's own bookkeeping. Everything firstbell creates lives in schema sis, so a reset can
-- drop exactly what we made and nothing else.
CREATE TABLE sis.schema_migrations (
    version     text PRIMARY KEY,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sis.firstbell_meta (
    key    text PRIMARY KEY,
    value  text NOT NULL
);
COMMENT ON TABLE sis.firstbell_meta IS
    'firstbell marker: this schema was created and seeded by firstbell with SYNTHETIC data.';
