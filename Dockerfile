# The one image every Recast service runs from (deploy/k8s picks the service with `args`).
#   docker build -t ghcr.io/example/recast:0.1.0 .
# The embedded stack (`devstack` extra: Tansu, SeaweedFS, PostgreSQL wheels) is left out: on a cluster the
# services reach Kafka, Postgres and S3 through RECAST_* settings.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY libs libs
COPY services services
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
RUN groupadd --gid 10001 recast && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin recast
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
WORKDIR /home/recast
# Every service but the tester runs as this user; the tester's pod runs as root with the few capabilities its
# sandbox needs (namespaces, a fresh uid per run): see deploy/k8s/deployment-tester.yaml.
USER 10001
EXPOSE 8000
CMD ["python", "-m", "gateway", "--host", "0.0.0.0", "--port", "8000"]
