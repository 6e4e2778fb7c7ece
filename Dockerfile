# Production image: gunicorn serving app:server, artefacts built at image build time.

# Build stage: the Python environment, and the partial plotly.js bundle and regenerator-runtime
# the app serves (components/delivery.py), fetched from the npm registry by the Makefile's own rule (the
# `plotly` target's `npm pack`) at the plotly.js version of the plotly.py installed here;
# the image below copies this very environment, so the versions agree.
FROM python:3.11-slim AS build
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PATH=/opt/venv/bin:$PATH
RUN apt-get update \
    && apt-get install -y --no-install-recommends make npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
RUN python -m venv /opt/venv
COPY pyproject.toml README.md ./
COPY analysis/ analysis/
COPY components/ components/
COPY pages/ pages/
RUN pip install --upgrade pip && pip install .
COPY Makefile ./
RUN make --no-print-directory \
    "build/vendor/plotly-basic-$(python -c 'from plotly.offline import get_plotlyjs_version as v; print(v())').min.js" \
    "build/vendor/regenerator-runtime-$(python -c 'from components.delivery import REGENERATOR_VERSION as v; print(v)').js"

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PATH=/opt/venv/bin:$PATH AMK_BUILD_DIR=/app/build
WORKDIR /app

COPY --from=build /opt/venv /opt/venv
COPY . .
# the partial plotly.js bundle, regenerator-runtime and their licences (without them the full
# 4.8 MB plotly.js bundle and Dash's @babel/polyfill are served)
COPY --from=build /app/build/vendor/ build/vendor/
RUN useradd --create-home --uid 10001 amk \
    && python -m analysis demo --out build/amk/raw_demo \
    && python -m analysis build --raw build/amk/raw_demo --out build/amk/panel.parquet \
    && python -m analysis results --panel build/amk/panel.parquet --out build/amk/results.parquet \
    && for cb in data/studies/*/codebook.yaml; do \
         s="$(basename "$(dirname "$cb")")"; [ "$s" = amk ] && continue; \
         python -m analysis build --raw "data/studies/$s" --codebook "$cb" --out "build/$s/panel.parquet" \
         && python -m analysis results --panel "build/$s/panel.parquet" --out "build/$s/results.parquet" \
         || exit 1; \
       done \
    && chown -R amk:amk /app
USER amk

EXPOSE 8050
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8050/healthz').status == 200 else 1)"
# settings in gunicorn.conf.py (AMK_WORKERS, AMK_BIND, AMK_TIMEOUT, AMK_LOG_LEVEL)
CMD ["gunicorn", "--config", "gunicorn.conf.py", "app:server"]
