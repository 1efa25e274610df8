# Sitewright's image: gunicorn (gunicorn.conf.py) as a non-root user.
# Migrations are not run at start: run `sitewright db upgrade` once per release (compose.yaml's
# "migrate" service), so replicas starting together never race on the schema.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SITEWRIGHT_DATA_DIR=/data SITEWRIGHT_TEMPLATES_DIR=/srv/sitewright/site_templates
WORKDIR /srv/sitewright

# Dependencies first, in their own layer: a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY app ./app
COPY site_templates ./site_templates
COPY gunicorn.conf.py ./
RUN pip install --no-deps . \
    && useradd --system --uid 10001 --home-dir /srv/sitewright --shell /usr/sbin/nologin sitewright \
    && mkdir -p /data && chown sitewright /data

USER sitewright
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "app.wsgi:app"]
