# Tripline's ECS image: one image, every pipeline; the task's command picks the pipeline.
#   docker build -t tripline:0.1.0 .
#   docker run --rm --read-only --tmpfs /tmp -v tripline-data:/data tripline:0.1.0 pipeline list
# The COPY lines below are the list of files the image holds: tests/ingestion/deploy replays
# exactly these (no Docker engine needed) and checks the dbt project's paths are all here.
FROM python:3.11-slim-bookworm

# /data: the warehouse volume (EFS). /tmp: the task's ephemeral storage, for DuckDB's spill,
# dlt's working folders, dbt's target/ and logs/ and staged downloads; the root file system
# itself can be mounted read-only. The CA bundle is for Kafka's SASL_SSL (librdkafka).
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    RUNTIME__DLTHUB_TELEMETRY=false \
    DO_NOT_TRACK=1 \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    TRIPLINE_DUCKDB_PATH=/data/tripline.duckdb \
    TRIPLINE_WORK_DIR=/tmp/tripline \
    TRIPLINE_DBT_PROJECT_DIR=/app \
    DBT_TARGET_PATH=/tmp/tripline/dbt/target \
    DBT_LOG_PATH=/tmp/tripline/dbt/logs \
    KAFKA_SSL_CA_LOCATION=/etc/ssl/certs/ca-certificates.crt \
    TRIPLINE_LOG_FORMAT=json

# A fixed uid/gid: the EFS access point (deploy/efs/) writes as this user.
RUN groupadd --system --gid 10001 tripline \
    && useradd --system --uid 10001 --gid tripline --home /app tripline

WORKDIR /app
# Dependencies first (pinned by constraints.txt) so code changes do not rebuild them.
COPY pyproject.toml constraints.txt ./
RUN mkdir ingestion && touch ingestion/__init__.py \
    && pip install -c constraints.txt . \
    && pip uninstall -y tripline
COPY ingestion ./ingestion
RUN pip install --no-deps -c constraints.txt . && rm -rf build ./*.egg-info
# The dbt project travels with the image (tripline dbt build runs it from /app).
COPY dbt_project.yml ./
COPY profiles ./profiles
COPY models ./models
COPY seeds ./seeds
COPY macros ./macros
COPY snapshots ./snapshots
COPY tests/dbt ./tests/dbt

# /app stays root's: the user reads the project and writes only /data and /tmp. ECS copies
# what a VOLUME path holds (ownership and modes too) into the bind mount at that path.
RUN mkdir -p /data /tmp/tripline && chown tripline:tripline /data /tmp/tripline
VOLUME ["/data", "/tmp"]
USER tripline

# The memory budget comes from the task's cgroup limit, the DuckDB threads from its CPU quota
# (ingestion/core/budget.py): no flags.
ENTRYPOINT ["tripline"]
CMD ["pipeline", "list"]
