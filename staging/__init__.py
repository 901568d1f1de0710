"""The reference staging SIS firstbell rehearses against out of the box: its schema and
migrations, seeding from a generated district or a OneRoster export, the HTTP API by module
(auth, portal, gradebook, attendance, registrar, incidents, reports, OneRoster 1.2 REST with
OAuth 2), authorization by ownership, Prometheus metrics, fault injection and the embedded
PostgreSQL it runs on by default."""
