"""People readiness: whether the staff of each school are ready for go-live, beside whether the
system is. From a staff roster, the training sandbox's activity log and a metrics file
(`readiness.yaml`), it computes per school and per role the metrics' values against their
targets, ranks the schools most in need, shows the weekly trend and projects it to go-live
with an interval, and combines the schools into one answer by the file's rules.

The API the CLI and the leadership report use: `load_metrics`, the roster loaders, `load_activity`,
`evaluate` (a typed `Result` with `as_json()`) and `decision(result, rules)`; `exports` writes
the per-school CSVs and the Prometheus files.
"""

from readiness.activity import Activity, load_activity
from readiness.compute import evaluate
from readiness.metrics import DEFAULT_FILE, Decision, Metric, Metrics, load_metrics
from readiness.result import Cell, DistrictCell, Projection, Result, School, decision
from readiness.roster import (
    Roster,
    from_district,
    load_csv,
    load_district_folder,
    load_oneroster,
    load_oneroster_zip,
    parse_columns,
)

__all__ = ["DEFAULT_FILE", "Activity", "Cell", "Decision", "DistrictCell", "Metric", "Metrics",
           "Projection", "Result", "Roster", "School", "decision", "evaluate", "from_district",
           "load_activity", "load_csv", "load_district_folder", "load_metrics", "load_oneroster",
           "load_oneroster_zip", "parse_columns"]
