"""mcloud settings, read from the environment and an optional `.env` file.

Every variable is listed in `.env.example` and in the README. With no configuration at
all (and DEBUG on) the app runs on SQLite under `var/` with django-q2's ORM broker.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from mcloud.egress.policy import parse_allowlist

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"


class _Env(environ.Env):
    """An empty value (`SECURE_HSTS_SECONDS=` in a `.env` copied from `.env.example`)
    means "use the default", not an empty string that fails to parse."""

    def get_value(
        self,
        var: str,
        cast: Any = None,
        default: Any = environ.Env.NOTSET,
        parse_default: bool = False,
    ) -> Any:
        if default is not self.NOTSET and self.ENVIRON.get(f"{self.prefix}{var}") == "":
            return self.parse_value(default, cast) if parse_default else default
        return super().get_value(var, cast, default, parse_default)


env = _Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

# --- Secret key ------------------------------------------------------------------------
DEVELOPMENT_SECRET_KEY = "django-insecure-mcloud-development-key-never-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY if DEBUG else "")
if not DEBUG and (
    not SECRET_KEY
    or SECRET_KEY.startswith("django-insecure")
    or SECRET_KEY == "change-me"
    or len(SECRET_KEY) < 50
):
    raise ImproperlyConfigured(
        "SECRET_KEY is missing or is a default value, and DEBUG is off. Set SECRET_KEY to a "
        "random string of at least 50 characters, for example the output of: "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )

# --- Encryption of secrets at rest (see mcloud/crypto.py) -------------------------------
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS is missing and DEBUG is off. Set it to one or more Fernet "
            "keys, newest first, for example the output of: python -c 'from "
            "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        )
    from mcloud.crypto import derive_development_key

    FIELD_ENCRYPTION_KEYS = [derive_development_key(SECRET_KEY)]

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Applications ----------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "django.forms",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "django_q",
    "ninja",
    "accounts",
    "inventory",
    "billing",
    "provisioning",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.RequireMfaMiddleware",
    "mcloud.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "mcloud.urls"
WSGI_APPLICATION = "mcloud.wsgi.application"
SITE_ID = 1

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.organization",
                "inventory.context_processors.sandbox",
                "provisioning.context_processors.terraform_isolation",
            ],
        },
    },
]

FORM_RENDERER = "mcloud.forms.FormRenderer"

# --- Data stores -----------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the web process read while a q2 worker writes; IMMEDIATE transactions take
    # the write lock up front instead of failing with "database is locked" on upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file, not memory, so that worker subprocesses started by tests share the test
    # database; one per test process, so that two test runs never share one.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # One test database per test process here too, so that two test runs never share one.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}

REDIS_URL = env.str("REDIS_URL", default="")

# The cache is shared by every process (rate limits, q2 cluster statistics), so it lives
# in Redis when there is one and in a database table otherwise; never per-process memory.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "mcloud_cache",
        }
    )
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Task queue (django-q2) ------------------------------------------------------------
TASK_TIMEOUT = env.int("TASK_TIMEOUT", default=3900)
Q_CLUSTER = {
    "name": "mcloud",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": TASK_TIMEOUT,
    "retry": TASK_TIMEOUT + 600,
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 1000,
    "label": "Task queue",
    # Tests set Q_SYNC=true so tasks run inline; q2 reads this once, at import.
    "sync": env.bool("Q_SYNC", default=False),
    **({"redis": REDIS_URL} if REDIS_URL else {"orm": "default"}),
}

# --- Authentication (django-allauth) ---------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "optional" if DEBUG else "mandatory"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[mcloud] "
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
MFA_ADAPTER = "accounts.mfa.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "mcloud"
# One 30-second step either side, as RFC 6238 advises for clock drift and slow typing.
MFA_TOTP_TOLERANCE = 1

# --- E-mail ----------------------------------------------------------------------------
# EMAIL_URL as django-environ reads it (smtp://, smtp+tls://, smtp+ssl://, consolemail://),
# turned into Django 6.1's MAILERS.
_email = env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25")
_email_options = {
    "host": _email.get("EMAIL_HOST"),
    "port": _email.get("EMAIL_PORT"),
    "username": _email.get("EMAIL_HOST_USER"),
    "password": _email.get("EMAIL_HOST_PASSWORD"),
    "use_tls": _email.get("EMAIL_USE_TLS"),
    "use_ssl": _email.get("EMAIL_USE_SSL"),
    "timeout": 20,
}
_backend = _email["EMAIL_BACKEND"]
if _backend == "django.core.mail.backends.console.EmailBackend":
    _backend = "mcloud.mail.ConsoleEmailBackend"  # links stay whole in the console
MAILERS = {
    "default": {
        "BACKEND": _backend,
        "OPTIONS": {k: v for k, v in _email_options.items() if v}
        if _email["EMAIL_BACKEND"].endswith("smtp.EmailBackend")
        else {},
    }
}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="mcloud <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Static files ----------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing folder
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env.bool("STATIC_MANIFEST", default=not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Security --------------------------------------------------------------------------
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^health$"]
# The scheme of links in e-mails (verification, password reset, invitations).
ACCOUNT_DEFAULT_HTTP_PROTOCOL = env.str(
    "ACCOUNT_DEFAULT_HTTP_PROTOCOL", default="https" if SECURE_SSL_REDIRECT else "http"
)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_REFERRER_POLICY = "same-origin"
# Django's own Content Security Policy (django-csp became part of Django in 6.0). No inline
# or third-party script runs; styles allow inline attributes, which allauth's and the admin's
# templates use.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Number of trusted proxies in front of the app, used to read the client IP for the audit log.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- Internationalization --------------------------------------------------------------
LANGUAGE_CODE = "en-us"
# Our own English where a library words it otherwise ("Log in", never "Sign In").
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Logging ---------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "botocore": {"level": "WARNING"},
        "azure": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "werkzeug": {"level": "ERROR"},
    },
}

# --- Cloud providers -------------------------------------------------------------------
# Endpoints default to the real clouds; tests and the sandbox point them at the emulators.
AWS_ENDPOINT_URL = env.str("AWS_ENDPOINT_URL", default="")
# The AWS identity (role or user ARN) mcloud's workers run as: the connection forms name it in
# the reader role's trust policy and CloudFormation commands.
AWS_PRINCIPAL_ARN = env.str("AWS_PRINCIPAL_ARN", default="")
AWS_CA_BUNDLE = env.str("AWS_CA_BUNDLE", default="")
AZURE_ARM_ENDPOINT = env.str("AZURE_ARM_ENDPOINT", default="https://management.azure.com")
AZURE_AUTHORITY_HOST = env.str("AZURE_AUTHORITY_HOST", default="login.microsoftonline.com")
AZURE_CA_BUNDLE = env.str("AZURE_CA_BUNDLE", default="")
GCP_COMPUTE_ENDPOINT = env.str("GCP_COMPUTE_ENDPOINT", default="")
GCP_ASSET_ENDPOINT = env.str("GCP_ASSET_ENDPOINT", default="")
GCP_RESOURCE_MANAGER_ENDPOINT = env.str("GCP_RESOURCE_MANAGER_ENDPOINT", default="")
GCP_STORAGE_ENDPOINT = env.str("GCP_STORAGE_ENDPOINT", default="")
GCP_BIGQUERY_ENDPOINT = env.str("GCP_BIGQUERY_ENDPOINT", default="")
GCP_TOKEN_URI = env.str("GCP_TOKEN_URI", default="")
CLOUD_TIMEOUT = env.float("CLOUD_TIMEOUT", default=10.0)
CLOUD_RETRIES = env.int("CLOUD_RETRIES", default=4)
# Seconds between polls of a provider's long-running operation (a VM action) when it does not
# say: unset keeps each SDK's default (Azure's 30 s when ARM sends no Retry-After).
CLOUD_POLL_SECONDS = env.float("CLOUD_POLL_SECONDS", default=None)
# Actions sent to each provider (VM start, stop, reboot), shared by every worker and host:
# "key=rate[/burst]" pairs, e.g. "aws=5/20,gcp=10", rate in calls a second. A provider left
# out keeps its registry entry's default (`CloudProvider.action_rate`, `action_burst`).
ACTION_RATE_LIMITS = env.str("ACTION_RATE_LIMITS", default="")
# Every other call to each provider's API (syncs, discovery, cost imports), per rate-limit
# domain (AWS account, region and service, S3 per bucket; Azure subscription; GCP project),
# shared by every worker and host: "key=rate[/burst]" pairs as above, or "off". A provider
# left out keeps its registry entry's default (`CloudProvider.call_rate`, `call_burst`).
CLOUD_RATE_LIMITS = env.str("CLOUD_RATE_LIMITS", default="")
# The most resources one bulk action may cover.
BULK_ACTION_MAX = env.int("BULK_ACTION_MAX", default=5000)

# --- Provider health -------------------------------------------------------------------
HEALTH_CHECK_INTERVAL_MINUTES = env.int("HEALTH_CHECK_INTERVAL_MINUTES", default=5)
HEALTH_DEGRADED_MS = env.int("HEALTH_DEGRADED_MS", default=2000)
HEALTH_PAUSE_AFTER_FAILURES = env.int("HEALTH_PAUSE_AFTER_FAILURES", default=5)
# A connection test (manual or scheduled) gives up after this many seconds.
CONNECTION_TEST_TIMEOUT = env.float("CONNECTION_TEST_TIMEOUT", default=8.0)

# --- Background runs -------------------------------------------------------------------
# A sync, a cost import or a Terraform run holds what it works on with a lease of this many
# seconds, renewed every third of it while the run works: a worker that dies is known (and
# its run recovered) at most this long after.
LEASE_SECONDS = env.int("LEASE_SECONDS", default=30)

# --- Inventory sync --------------------------------------------------------------------
SYNC_DEFAULT_INTERVAL_MINUTES = env.int("SYNC_DEFAULT_INTERVAL_MINUTES", default=30)
# Regions (subscriptions, projects) of one account listed at the same time.
SYNC_CONCURRENCY = env.int("SYNC_CONCURRENCY", default=8)

# --- Billing ---------------------------------------------------------------------------
# The first import of an account fetches this many days; later ones re-fetch the recent
# days that providers restate.
BILLING_BACKFILL_DAYS = env.int("BILLING_BACKFILL_DAYS", default=90)
BILLING_RESTATE_DAYS = env.int("BILLING_RESTATE_DAYS", default=5)
# The smallest rise over a day's expected cost that is an anomaly, in the organization's
# currency (billing.baselines): pennies never alert.
BILLING_ANOMALY_MIN_AMOUNT = env.float("BILLING_ANOMALY_MIN_AMOUNT", default=10.0)

# --- Provisioning (Terraform) ------------------------------------------------------------
# The binary (Terraform 1.x or OpenTofu) and a plugin directory for offline `init`.
TERRAFORM_BIN = env.str("TERRAFORM_BIN", default="terraform")
TERRAFORM_PLUGIN_DIR = env.str("TERRAFORM_PLUGIN_DIR", default=str(VAR_DIR / "terraform-plugins"))
TERRAFORM_RUN_TIMEOUT = env.int("TERRAFORM_RUN_TIMEOUT", default=3600)
TERRAFORM_CANCEL_GRACE_SECONDS = env.int("TERRAFORM_CANCEL_GRACE_SECONDS", default=10)
# Every Terraform process runs in a bubblewrap sandbox (provisioning/isolation.py). "off" runs
# it as the worker itself: only for a worker that serves a single trusted organization.
TERRAFORM_ISOLATION = env.str("TERRAFORM_ISOLATION", default="on").lower()
if TERRAFORM_ISOLATION not in ("on", "off"):
    raise ImproperlyConfigured("TERRAFORM_ISOLATION must be on or off.")
# What one sandboxed step may use: processes (threads count), open files, the size of any file
# it writes, address space per process (Go needs > 512 MB to start), the private /tmp (memory).
TERRAFORM_MAX_PROCESSES = env.int("TERRAFORM_MAX_PROCESSES", default=1024)
TERRAFORM_MAX_OPEN_FILES = env.int("TERRAFORM_MAX_OPEN_FILES", default=4096)
TERRAFORM_MAX_FILE_MB = env.int("TERRAFORM_MAX_FILE_MB", default=1024)
TERRAFORM_MAX_MEMORY_MB = env.int("TERRAFORM_MAX_MEMORY_MB", default=4096)
TERRAFORM_TMP_MB = env.int("TERRAFORM_TMP_MB", default=256)
# Policies (Rego an organization's admins write) are evaluated in the same sandbox, with these
# limits per evaluation: resident memory (watched by the worker), CPU seconds and wall time.
POLICY_MAX_MEMORY_MB = env.int("POLICY_MAX_MEMORY_MB", default=512)
POLICY_MAX_CPU_SECONDS = env.int("POLICY_MAX_CPU_SECONDS", default=10)
POLICY_TIMEOUT_SECONDS = env.int("POLICY_TIMEOUT_SECONDS", default=30)
# Where runs' working directories go (empty: the system's temporary directory).
TERRAFORM_WORK_DIR = env.str("TERRAFORM_WORK_DIR", default="")
# host:port pairs a cloud run may reach through the egress proxy although they are private
# (an emulator, a proxy of your own). Never needed for the public clouds.
try:
    TERRAFORM_EGRESS_ALLOW = parse_allowlist(env.list("TERRAFORM_EGRESS_ALLOW", default=[]))
except ValueError as error:
    raise ImproperlyConfigured(f"TERRAFORM_EGRESS_ALLOW: {error}") from error
# Who may upload blueprints of their own: organization admins, staff only, or nobody.
BLUEPRINT_UPLOADS = env.str("BLUEPRINT_UPLOADS", default="admins").lower()
if BLUEPRINT_UPLOADS not in ("admins", "staff", "off"):
    raise ImproperlyConfigured("BLUEPRINT_UPLOADS must be admins, staff or off.")
# How long a second run of the same deployment waits for the lease before it is refused.
PROVISIONING_LEASE_WAIT_SECONDS = env.int("PROVISIONING_LEASE_WAIT_SECONDS", default=5)

# --- Outbound calls to URLs users set (budget webhooks, notification channels) ----------
# They go through mcloud/egress: public addresses only, unless listed here (host:port pairs).
try:
    EGRESS_ALLOW = parse_allowlist(env.list("EGRESS_ALLOW", default=[]))
except ValueError as error:
    raise ImproperlyConfigured(f"EGRESS_ALLOW: {error}") from error
EGRESS_ALLOW_HTTP = env.bool("EGRESS_ALLOW_HTTP", default=DEBUG)  # plain http:// URLs
EGRESS_TIMEOUT = env.float("EGRESS_TIMEOUT", default=5.0)  # seconds per call

# --- Price catalog: the providers' public price lists (manage.py refresh_prices) ----------
# Fetched through mcloud/egress with the same address rules (EGRESS_ALLOW lists a local mirror).
PRICES_AWS_URL = env.str("PRICES_AWS_URL", default="https://pricing.us-east-1.amazonaws.com")
PRICES_AZURE_URL = env.str("PRICES_AZURE_URL", default="https://prices.azure.com/api/retail/prices")
PRICES_GCP_URL = env.str(
    "PRICES_GCP_URL",
    default="https://cloudbilling.googleapis.com/v1/services/6F81-5844-456A/skus",
)
PRICES_GCP_API_KEY = env.str("PRICES_GCP_API_KEY", default="")  # the Catalog API wants a key
PRICES_TIMEOUT = env.float("PRICES_TIMEOUT", default=60.0)  # seconds per call
PRICES_MAX_PAGE_MB = env.int("PRICES_MAX_PAGE_MB", default=32)  # one page of a price list

# --- Notifications -------------------------------------------------------------------------
# Minutes before each retry of a failed delivery; after the last, the delivery has failed.
NOTIFICATION_RETRY_MINUTES = env.list("NOTIFICATION_RETRY_MINUTES", cast=int, default=[1, 5, 25])
if any(minutes < 1 for minutes in NOTIFICATION_RETRY_MINUTES):
    raise ImproperlyConfigured("NOTIFICATION_RETRY_MINUTES: whole minutes, 1 or more each.")

# --- JSON API ----------------------------------------------------------------------------
# The longest a personal access token may live, in days; 0 allows tokens that never expire.
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=365)
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="600/m")  # per token or user
API_ANON_RATE_LIMIT = env.str("API_ANON_RATE_LIMIT", default="30/m")  # per address

# --- Sandbox estate (the local emulators, `python -m emulators`) --------------------------
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=DEBUG)
SANDBOX_URL = env.str("SANDBOX_URL", default="http://127.0.0.1:4569").rstrip("/")

# The app's public address, for links in e-mails sent by background jobs, and its name; the
# sites framework's Site (which allauth's e-mails read) is kept in step after each migrate.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
SITE_NAME = env.str("SITE_NAME", default="mcloud")

# --- First superuser (created by `manage.py ensure_superuser`) -------------------------
SUPERUSER_EMAIL = env.str("SUPERUSER_EMAIL", default="admin@localhost")
SUPERUSER_PASSWORD = env.str("SUPERUSER_PASSWORD", default="")

# --- Health ----------------------------------------------------------------------------
# A q2 cluster is "alive" when it reported its statistics within this many seconds.
HEALTH_QUEUE_MAX_AGE = env.int("HEALTH_QUEUE_MAX_AGE", default=60)
