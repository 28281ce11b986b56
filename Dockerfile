# The one image every Recast service runs from (deploy/k8s picks the service with `args`).
#   docker build --build-arg REVISION=$(git rev-parse HEAD) --build-arg CREATED=$(date -u +%FT%TZ) \
#     -t ghcr.io/example/recast:0.1.0 .
# Dependencies come from requirements.lock (`make lock`), built in their own layer before any code is copied:
# an edit to the code rebuilds only the project's own wheel. The embedded stack (`devstack` extra: Tansu,
# SeaweedFS, PostgreSQL wheels) is left out: on a cluster the services reach Kafka, Postgres and S3 through
# RECAST_* settings.
# The base image is pinned to a patch release; pin its digest too where you build
# (--build-arg PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:...), so that a rebuild is the same image.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY requirements.lock ./
RUN pip wheel --no-cache-dir --wheel-dir /wheels/deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY libs libs
COPY services services
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels/app .

FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="recast" \
      org.opencontainers.image.description="Learn a CSV-to-CSV conversion from one example pair and run it at scale" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="https://github.com/example/recast" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}"
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
RUN groupadd --gid 10001 recast && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin recast
COPY --from=build /wheels/deps /wheels/deps
RUN pip install --no-cache-dir --no-index /wheels/deps/*.whl && rm -rf /wheels/deps
COPY --from=build /wheels/app /wheels/app
RUN pip install --no-cache-dir --no-index --no-deps /wheels/app/*.whl && rm -rf /wheels/app
WORKDIR /home/recast
# Every service but the tester runs as this user; the tester's pod runs as root with the few capabilities its
# sandbox needs (namespaces, a fresh uid per run): see deploy/k8s/deployment-tester.yaml.
USER 10001
EXPOSE 8000
# The gateway runs RECAST_GATEWAY_WORKERS worker processes (default 1; deploy/k8s sets it beside the CPU limit).
CMD ["python", "-m", "gateway", "--host", "0.0.0.0", "--port", "8000"]
