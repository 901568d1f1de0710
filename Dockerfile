# firstbell in one image: the CLI (`firstbell …`: district, staging seed, run, worker, report),
# the staging SIS (`python -m staging.server`) and the load generator (Locust master and workers).
# docker-compose.yml builds it for every firstbell service; docs/docker.md says how to run it.
# No Docker engine runs on the machines that test this repository: tests/deploy/test_compose.py
# checks this file (pinned base, COPY sources exist and are not in .dockerignore), not a build.
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# An unprivileged user owns the working folder and the mount points of the named volumes
# (a new named volume takes the owner of the folder it is mounted on).
RUN groupadd --system --gid 10001 firstbell \
    && useradd --system --uid 10001 --gid firstbell --create-home --home-dir /home/firstbell \
       --shell /usr/sbin/nologin firstbell \
    && mkdir -p /work /runs /data \
    && chown firstbell:firstbell /work /runs /data

# The package and its data files (profiles, migrations, scenarios, report templates); every
# dependency ships wheels for linux/amd64 and linux/arm64, so no compiler is needed.
WORKDIR /opt/firstbell
COPY pyproject.toml README.md ./
COPY kernel ./kernel
COPY thresholds ./thresholds
COPY firstbell ./firstbell
COPY fake_data ./fake_data
COPY staging ./staging
COPY scenarios ./scenarios
COPY loadtests ./loadtests
COPY monitoring ./monitoring
COPY recordings ./recordings
COPY sis ./sis
COPY readiness ./readiness
RUN pip install . \
    && firstbell --help > /dev/null \
    && python -c "import staging.server, loadtests.locustfile"

USER firstbell
WORKDIR /work
CMD ["firstbell", "--help"]
