# SignalCraft app image: gunicorn serving wsgi:server; the same image runs workers
# (`flask --app wsgi worker`). Build: docker build -t signalcraft .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 NUMBA_CACHE_DIR=/tmp/numba \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update && apt-get install -y --no-install-recommends libsndfile1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /app signalcraft \
    && mkdir -p /data/audio && chown signalcraft /data/audio

WORKDIR /app
COPY requirements.txt constraints.txt build-constraints.txt ./
RUN pip install --upgrade "pip>=25.3" \
    && pip install -c constraints.txt --build-constraint build-constraints.txt -r requirements.txt

COPY --chown=signalcraft:signalcraft . .
USER signalcraft
ENV SIGNALCRAFT_INSTANCE_PATH=/app/instance GUNICORN_BIND=0.0.0.0:8050 \
    GUNICORN_ACCESS_LOG=-
EXPOSE 8050
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8050/healthz').status != 200)"
CMD ["sh", "-c", "flask --app wsgi db-upgrade && exec gunicorn -c gunicorn.conf.py wsgi:server"]
