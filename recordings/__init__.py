"""Browser recordings (HAR 1.2) turned into target files: read and normalize the recording
(`har`), drop what a load test must not replay (`filters`), take the recorded credentials and
session out (`secrets`), find where each dynamic value came from (`correlate`), and write the
target the user edits (`writer`); `convert.record` is the driver the CLI calls."""
