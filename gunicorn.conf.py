"""Gunicorn settings for production: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Every value can be overridden from the environment (``GUNICORN_*``) or the command line.
"""

from __future__ import annotations

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")  # behind a reverse proxy (TLS there)

# Workers: the usual 2 × cores + 1, capped — each worker holds its own database pool and a
# release cache, so many workers on a big host waste memory and PostgreSQL connections.
workers = min(2 * multiprocessing.cpu_count() + 1, _int("GUNICORN_MAX_WORKERS", 9))
# Threads overlap database waits; the statistics are numpy/scipy (release the GIL in places).
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)

# A large extract upload (50 MB, validation + COPY) or a briefing PDF may take a while; a
# stuck request is killed after this and the transaction rolled back.
timeout = _int("GUNICORN_TIMEOUT", 120)
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then (bounded memory growth from caches and pandas frames).
max_requests = 2000
max_requests_jitter = 200

# Request limits (uploads are bounded by MAX_CONTENT_LENGTH in the app config).
limit_request_line = 8190
limit_request_fields = 100

# Trust X-Forwarded-* only from the local reverse proxy.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")

# Access log without query strings (%(U)s is the path only, %(r)s would include the query)
# and without any request header: no token, session or personal filter ever reaches a log.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
