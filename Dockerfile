# A slim production image: migrations, then gunicorn, as a non-root user.
# The q2 worker runs from the same image: `docker run IMAGE python manage.py qcluster`.
FROM python:3.12-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY requirements.txt /tmp/requirements.txt
RUN python -m venv /venv && /venv/bin/pip install -r /tmp/requirements.txt

FROM python:3.12-slim
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 DEBUG=false
# Terraform runs in bubblewrap sandboxes (see the README's security section for what the
# container needs: unprivileged user namespaces allowed by its seccomp profile).
RUN apt-get update && apt-get install -y --no-install-recommends bubblewrap socat \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 mcloud
COPY --from=build /venv /venv
WORKDIR /app
COPY --chown=mcloud:mcloud . .
# Terraform is in the venv (requirements.txt); lay out its offline providers.
RUN bin/install-terraform /venv /app/var/terraform-plugins
# collectstatic needs settings but no secrets: throwaway keys for the build step only.
RUN SECRET_KEY=build-only-collectstatic-key-not-used-at-runtime-0123456789abcdef \
    FIELD_ENCRYPTION_KEYS=YnVpbGQtb25seS1maWVsZC1rZXktbm90LXVzZWQtISE= \
    python manage.py collectstatic --noinput && chown -R mcloud:mcloud /app/var
USER mcloud
EXPOSE 8000
CMD ["sh", "-c", "python manage.py migrate --noinput && python manage.py createcachetable && exec gunicorn mcloud.wsgi --config gunicorn.conf.py"]
