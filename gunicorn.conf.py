"""gunicorn settings for the web process; each can be overridden from the environment."""

import multiprocessing
import os


def _setting(name: str, default: object) -> str:
    """The environment's value, or the default when unset or empty (as in `.env.example`)."""
    return os.environ.get(name) or str(default)


bind = _setting("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(_setting("WEB_CONCURRENCY", min(multiprocessing.cpu_count() * 2 + 1, 8)))
threads = int(_setting("GUNICORN_THREADS", 2))
timeout = int(_setting("GUNICORN_TIMEOUT", 60))
accesslog = "-"
forwarded_allow_ips = _setting("FORWARDED_ALLOW_IPS", "127.0.0.1")
