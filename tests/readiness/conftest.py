"""A hand-made roster, log and metrics file whose scorecard is computed by hand in
test_scorecard.py, and the small generated district with its synthetic log."""

from __future__ import annotations

from pathlib import Path

import pytest

from fake_data.district import District, generate
from fake_data.profile import load_profile

METRICS = """\
version: 1
log: {person: who, time: when, action: what, max_unmatched_share: 0.2}
roles:
  teacher: [teacher]
  office: [clerk]
actions:
  login: [login]
  training: [module]
metrics:
  - {name: login, kind: share_by, action: login, targets: {teacher: 0.75, office: 1.0}}
  - {name: training, kind: share_by, action: training, at_least: 2, targets: {teacher: 0.5}}
  - {name: lead, kind: median_days_before, action: login, targets: {teacher: 10}}
decision: {schools_at_target: 0.5}
"""

ROSTER = """\
id,building,title,enrolled,status
t1,S1,teacher,100,active
t2,S1,teacher,100,active
t3,S1,teacher,100,active
t4,S1,teacher,100,active
c1,S1,clerk,100,active
x1,S1,teacher,100,inactive
t5,S2,teacher,300,active
t6,S2,teacher,300,active
c2,S2,clerk,300,active
d1,,teacher,,active
"""
COLUMNS = "person=id,school=building,role=title,students=enrolled,active=status"

LOG = """\
who,when,what
t5,2019-03-25T08:00:00,login
t5,2019-03-26,module
t5,2019-03-27,module
t1,2019-04-01T09:30:00,login
x1,2019-04-01,login
t1,2019-04-02,module
t1,2019-04-03,module
t1,2019-04-03,coffee
c1,2019-04-05,login
t2,2019-04-10,login
t2,2019-04-11,module
t6,2019-04-12,login
t6,2019-04-13,module
t6,2019-04-20,module
d1,2019-04-15,login
ghost,2019-04-16,login
t3,2019-04-22T07:00:00,login
"""


@pytest.fixture
def hand(tmp_path: Path) -> dict[str, Path]:
    files = {"metrics": tmp_path / "readiness.yaml", "roster": tmp_path / "staff.csv",
             "log": tmp_path / "log.csv"}
    files["metrics"].write_text(METRICS)
    files["roster"].write_text(ROSTER)
    files["log"].write_text(LOG)
    return files


@pytest.fixture(scope="session")
def small() -> District:
    return generate(load_profile("small"), 1.0, 42)
