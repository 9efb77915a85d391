# One image for the four services: `docker run barcode-pipeline services.gateway` (or
# services.router / services.generator / services.notifier; `loadtest ...` for the load tool).
# Built by `make image` where Docker exists; no container engine runs where this project is
# developed, so this file is checked by review and by the chart's tests, not by a build here.

# ---- build: wheels resolved against the same lock file as the development environment ----
FROM python:3.11.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml requirements.lock ./
COPY services ./services
COPY loadtest ./loadtest
COPY devstack ./devstack
# Runtime dependencies only (no test or bench extras), pinned by requirements.lock.
RUN /opt/venv/bin/pip install -c requirements.lock . \
 && /opt/venv/bin/python -c "import zint, zxingcpp, cairosvg, faust, uvloop"

# ---- run: no compilers, no pip cache, a non-root user, nothing writable but /tmp ----
FROM python:3.11.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends libcairo2 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --user-group --no-create-home --home-dir /tmp app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY config ./config
COPY services ./services
COPY loadtest ./loadtest
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    BARCODE_FAUST_DATADIR=/tmp/faust
USER 10001:10001
EXPOSE 8080 9101 9102 9103
ENTRYPOINT ["python", "-m"]
CMD ["services.gateway"]
