# Sitewright: gunicorn, non-root, data under /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    SITEWRIGHT_DATA_DIR=/data SITEWRIGHT_TEMPLATES_DIR=/srv/sitewright/site_templates
WORKDIR /srv/sitewright

COPY pyproject.toml README.md ./
COPY app ./app
COPY site_templates ./site_templates
RUN pip install . \
    && useradd --system --uid 10001 --home /srv/sitewright sitewright \
    && mkdir -p /data && chown sitewright /data

USER sitewright
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
# One process with threads: generation jobs run on a thread pool inside it (see README).
CMD ["sh", "-c", "sitewright db upgrade && exec gunicorn --bind 0.0.0.0:8000 --workers 1 --threads 8 --worker-class gthread --timeout 120 --access-logfile - 'app.wsgi:app'"]
