# One image for the four services: `docker run barcode-pipeline services.gateway` (or
# services.router / services.generator / services.notifier; `loadtest ...` for the load tool).
# Built here by `make images` (devstack/k8s/images.py) with `--build-arg BASE=local/debian-python:bookworm`,
# a Debian base made with debootstrap because no registry can be pulled from; with a registry,
# a plain `docker build .` uses the public python image below. Both bases work: Debian's names
# its interpreter `python3` (hence `python3 -m venv`); inside the venv `python` exists on both.

# ---- the base: an exactly pinned slim Python 3.11 on bookworm, or any bookworm with python3 + venv ----
ARG BASE=python:3.11.11-slim-bookworm

# ---- build: wheels resolved against the same lock file as the development environment ----
FROM ${BASE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python3 -m venv /opt/venv
COPY pyproject.toml requirements.lock ./
COPY services ./services
COPY loadtest ./loadtest
# Not devstack/ (the local tooling; pyproject lists it, but nothing in the image imports it):
# editing the cluster scripts must not make this image stale.
# Runtime dependencies only (no test or bench extras), pinned by requirements.lock. cairosvg is
# imported in the run stage: it loads libcairo2, which only that stage installs.
RUN /opt/venv/bin/pip install -c requirements.lock . \
 && /opt/venv/bin/python -c "import zint, zxingcpp, aiokafka, uvloop"
# The ZPL renderer the generator checks labels with (npm zpl-renderer-js, WebAssembly): its
# tarball from the npm registry, checked against the lock file's sha512; no npm needed.
COPY scripts/zpl ./scripts/zpl
RUN python3 scripts/zpl/fetch_modules.py /opt/zpl

# ---- run: no compilers, no pip cache, a non-root user, nothing writable but /tmp ----
FROM ${BASE}
# `apt-get update` first: the lists are not in either base (a debootstrapped one has its
# sources list but no lists).
# Node runs the ZPL renderer (Debian's nodejs; the renderer needs nothing newer).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libcairo2 nodejs \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && useradd --uid 10001 --user-group --no-create-home --home-dir /tmp app
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/zpl /opt/zpl
WORKDIR /app
COPY config ./config
COPY services ./services
COPY loadtest ./loadtest
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ZPL_RENDERER_MODULES=/opt/zpl/node_modules \
    HOME=/tmp
RUN python -c "import cairosvg, zint, zxingcpp, aiokafka, uvloop" \
 && python -c "from services.render import api, symbologies; \
assert api.render(symbologies.CATALOGUE['qrcode'], 'IMAGE CHECK', 'zpl', {}).unverified is None"
USER 10001:10001
EXPOSE 8080 9101 9102 9103
ENTRYPOINT ["python", "-m"]
CMD ["services.gateway"]
