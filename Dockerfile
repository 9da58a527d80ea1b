# GridGov's application image: dependencies installed at build time, run as a non-root user.
#   docker compose build        (see docker-compose.yml and docs/deploy.md)
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
# Dependencies first, at the versions CI tested (constraints.txt), then the code.
COPY pyproject.toml README.md constraints.txt ./
COPY api ./api
COPY gis ./gis
COPY web_map ./web_map
COPY migrations ./migrations
RUN python -m venv /opt/gridgov && /opt/gridgov/bin/pip install -c constraints.txt /src

FROM python:3.11-slim-bookworm
# fonts-noto-cjk and python3-mapnik: the base map is rendered by Debian's Mapnik (system Python,
# GRIDGOV_BASEMAP_PYTHON) with Chinese labels.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-noto-cjk python3-mapnik \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/gridgov --create-home gridgov
COPY --from=build /opt/gridgov /opt/gridgov
ENV PATH=/opt/gridgov/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    GRIDGOV_DATA_DIR=/var/lib/gridgov
USER gridgov
WORKDIR /var/lib/gridgov
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
CMD ["gridgov", "serve", "--host", "0.0.0.0", "--port", "8000"]
