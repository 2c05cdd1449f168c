# Tripline's ECS image: one image, every pipeline; the task's command picks the pipeline.
#   docker build -t tripline .
#   docker run --rm -v tripline-data:/data tripline pipeline run trips --source s3://…
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    RUNTIME__DLTHUB_TELEMETRY=false \
    DO_NOT_TRACK=1 \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    TRIPLINE_DUCKDB_PATH=/data/tripline.duckdb \
    TRIPLINE_LOG_FORMAT=json

RUN groupadd --system tripline && useradd --system --gid tripline --home /app tripline

WORKDIR /app
# Dependencies first (pinned by constraints.txt) so code changes do not rebuild them.
COPY pyproject.toml constraints.txt ./
RUN mkdir ingestion && touch ingestion/__init__.py \
    && pip install -c constraints.txt . \
    && pip uninstall -y tripline
COPY ingestion ./ingestion
RUN pip install --no-deps -c constraints.txt .
# The dbt project travels with the image so a task can run `dbt build` after its pipeline.
COPY dbt_project.yml ./
COPY profiles ./profiles
COPY models ./models
COPY seeds ./seeds
COPY macros ./macros
COPY tests/dbt ./tests/dbt

RUN mkdir -p /data && chown tripline:tripline /data /app
VOLUME ["/data"]
USER tripline

# The memory budget comes from the task's cgroup limit (ingestion/core/budget.py): no flag.
ENTRYPOINT ["tripline"]
CMD ["pipeline", "list"]
