"""The synthetic district: profiles as data (`profiles/*.yaml`, `profile`), vectorized
deterministic generation of schools, students, staff, families, sections, enrollments,
accounts and history (`district` and the modules it calls), and the exporters — Parquet,
OneRoster 1.1/1.2 CSV, the PostgreSQL COPY load and the user pools the load engine logs in
with. Only synthetic data: reserved domains and phone ranges. It knows nothing of HTTP or
Locust."""
