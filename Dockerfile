# Production image: gunicorn serving app:server, artefacts built at image build time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    AMK_BUILD_DIR=/app/build
WORKDIR /app

COPY pyproject.toml README.md ./
COPY analysis/ analysis/
COPY components/ components/
COPY pages/ pages/
RUN pip install --upgrade pip && pip install .

COPY . .
RUN useradd --create-home --uid 10001 amk \
    && python -m analysis demo --out build/raw_demo \
    && python -m analysis build --raw build/raw_demo --out build/panel.parquet \
    && python -m analysis results --panel build/panel.parquet --out build/results.parquet \
    && chown -R amk:amk /app
USER amk

EXPOSE 8050
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8050/healthz').status == 200 else 1)"
# settings in gunicorn.conf.py (AMK_WORKERS, AMK_BIND, AMK_TIMEOUT, AMK_LOG_LEVEL)
CMD ["gunicorn", "--config", "gunicorn.conf.py", "app:server"]
