"""The leadership report of a run: data from the run directory, charts, HTML/Markdown/JSON."""
