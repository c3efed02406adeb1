"""Attentive's one settings module, driven by environment variables.

The defaults give the embedded path: SQLite, no Redis, console e-mail, a grading
worker that talks to the web process through a broker on the local disk. Setting
DATABASE_URL and REDIS_URL (and the production values below) gives the deployed path.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use true or false")


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number") from None


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


# Where the embedded path keeps its database, broker folders and uploads.
VAR_DIR = Path(env("ATTENTIVE_VAR_DIR", str(BASE_DIR / "var")))


def secret_key_from_file(path: Path) -> str:
    """The key kept in `path`, made there (readable by its owner only) the first time.

    The embedded path's web process, grading worker and management commands all read the
    same file, so what one signs (sessions, anonymous reflection hashes) the others accept.
    """
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        import secrets

        path.parent.mkdir(parents=True, exist_ok=True)
        candidate = path.with_name(f".{path.name}.{os.getpid()}")
        # Made readable by its owner only from the start: written first and chmod-ed after, the
        # key would be readable by anyone on the machine for a moment (umask 022).
        candidate.unlink(missing_ok=True)  # left by a process of the same id that died here
        descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "w") as written:
            written.write(secrets.token_urlsafe(50) + "\n")
        try:
            os.link(candidate, path)  # atomic: if two processes race, the first file wins
        except FileExistsError:
            pass
        finally:
            candidate.unlink()
        text = path.read_text().strip()
    if len(text) < 32:
        raise ImproperlyConfigured(f"{path} holds no usable secret key: delete it and a new one is made")
    return text


# `make run` turns DEBUG off; a developer opts in with `make run DEBUG=true`.
DEBUG = envbool("DEBUG", True)
SECRET_KEY = env("SECRET_KEY")
SECRET_KEY_FILE = env("SECRET_KEY_FILE")
if not SECRET_KEY:
    if SECRET_KEY_FILE or DEBUG:
        SECRET_KEY = secret_key_from_file(Path(SECRET_KEY_FILE or VAR_DIR / "secret-key"))
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is false (or SECRET_KEY_FILE, a file holding it; "
            "`make run` keeps one in var/secret-key)"
        )
# Whether people reach the site over HTTPS: secure-only cookies, HSTS and the redirect to
# HTTPS follow it. On by default in production; `make run` serves plain HTTP on a LAN.
HTTPS = envbool("HTTPS", not DEBUG)

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
# The address students type or scan to join: used in join links and QR codes.
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Classroom mode (`make run LAN=1`): scripts/dev.py finds this machine's address on the room's
# network and sets LAN_URL; the site then answers there, its forms are trusted from there,
# and join links and QR codes carry it.
LAN_URL = env("LAN_URL").rstrip("/")
if LAN_URL:
    ALLOWED_HOSTS = [*ALLOWED_HOSTS, urlsplit(LAN_URL).hostname]
    CSRF_TRUSTED_ORIGINS = [*CSRF_TRUSTED_ORIGINS, LAN_URL]
    if not env("SITE_URL"):
        SITE_URL = LAN_URL

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "frontdoor",
    "courses",
    "exercises",
    "graders",
    "quizzes",
    "reflections",
    "comparisons",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that its 413 page gets every header above; no middleware reads the body before
    # the view (CSRF reads it in process_view, after this has run). Synchronous only, and last, it
    # also keeps the whole chain in the request's thread under ASGI: with WhiteNoise the only
    # synchronous one, the six inside it ran asynchronously, a trip between the event loop and the
    # thread for each process_request and process_response (tests/project/test_asgi_requests.py).
    "frontdoor.middleware.RequestSizeLimitMiddleware",
]

ROOT_URLCONF = "attentive.urls"
ASGI_APPLICATION = "attentive.asgi.application"
WSGI_APPLICATION = "attentive.wsgi.application"

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
            ],
        },
    },
]

DATABASE_URL = env("DATABASE_URL")
if not DATABASE_URL:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASE_URL = f"sqlite:///{VAR_DIR / 'attentive.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=envint("DB_CONN_MAX_AGE", 0))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Tests use a file, not memory, so that a real grading worker or server started by a
    # test in another process sees the same database.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-attentive.sqlite3")}
    # The web process and the grading worker write to one file: wait for the lock
    # instead of failing, and let readers proceed while a writer works (WAL).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database that is down or frozen must not hold a page for long: give up connecting after
    # a few seconds (pages then answer 503), and cut statements that run away.
    # TCP keepalives find a server whose host went away. A server that is frozen (its host
    # still acknowledges) answers no statement at all: the web's answer to that is the request
    # deadline (attentive/outages.py). Web processes cut statements at WEB_DB_STATEMENT_TIMEOUT_MS
    # (attentive/asgi.py, wsgi.py); workers and commands keep DB_STATEMENT_TIMEOUT_MS.
    DATABASES["default"]["OPTIONS"] = {
        "connect_timeout": envint("DB_CONNECT_TIMEOUT_SECONDS", 3),
        "options": f"-c statement_timeout={envint('DB_STATEMENT_TIMEOUT_MS', 30_000)}",
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
    }
WEB_DB_STATEMENT_TIMEOUT_MS = envint("WEB_DB_STATEMENT_TIMEOUT_MS", 4_000)
# A request that has not begun its answer after this many seconds, while the database or Redis
# does not answer a probe, gets the 503 page (attentive/outages.py, ASGI only).
# With the probe's 1 s at most, such a request is answered within about 4 s.
REQUEST_DEADLINE_SECONDS = envint("REQUEST_DEADLINE_SECONDS", 3)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and envint("DB_POOL_MAX_SIZE", 8):
    # A pool of connections per process (psycopg-pool), checked before each use: under ASGI every
    # request runs in a thread of its own, and without a pool each one opened a PostgreSQL
    # connection and started a backend for it (docs/benchmarks.md, "Live quizzes"). DB_POOL_MAX_SIZE=0: no pool.
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": 2, "max_size": envint("DB_POOL_MAX_SIZE", 8), "timeout": envint("DB_POOL_TIMEOUT_SECONDS", 5),
    }
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Serve files straight from the apps' static folders in development, so the embedded
# path needs no collectstatic step.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Attentive <attentive@localhost>")

# Security settings that `manage.py check --deploy` asks for; on by default over HTTPS.
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", HTTPS)
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", HTTPS)
# Django's database sessions without the key's exists() query and the transaction around each
# write: one statement per session written (frontdoor/sessions.py; docs/benchmarks.md, "Live quizzes").
SESSION_ENGINE = "frontdoor.sessions"
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", HTTPS)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", HTTPS)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if envbool("BEHIND_TLS_PROXY", False) else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): scripts, styles, fonts and images only from this site,
# no inline script, no inline style attribute, no plug-ins, no framing. KaTeX and CodeMirror
# style elements through the CSSOM, which a policy does not forbid; CodeMirror also adds one
# <style> element of its own, which carries the response's nonce (base.html, editor.js).
# Quiz images and KaTeX's fonts are files of this site; WebSockets go back to 'self'.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", NONCE],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Sign-in, join-code and game-PIN throttles (frontdoor/throttle.py): reaching a limit locks for
# the lockout time. Sign-ins are counted per account and address (a few), per account (many:
# several networks guessing) and per address (which then stops only the accounts that failed
# there, so that a lecture hall sharing one address keeps signing in). An IPv6 /64 is one address.
LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS = envint("LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS", 5)
LOGIN_FAILURES_PER_ACCOUNT = envint("LOGIN_FAILURES_PER_ACCOUNT", 30)
LOGIN_FAILURES_PER_ADDRESS = envint("LOGIN_FAILURES_PER_ADDRESS", 50)
LOGIN_LOCKOUT_MINUTES = envint("LOGIN_LOCKOUT_MINUTES", 15)
JOIN_CODE_FAILURES_PER_ACCOUNT = envint("JOIN_CODE_FAILURES_PER_ACCOUNT", 10)
JOIN_CODE_FAILURES_PER_ADDRESS = envint("JOIN_CODE_FAILURES_PER_ADDRESS", 100)
JOIN_CODE_LOCKOUT_MINUTES = envint("JOIN_CODE_LOCKOUT_MINUTES", 15)
GAME_PIN_FAILURES_PER_SESSION = envint("GAME_PIN_FAILURES_PER_SESSION", 10)
GAME_PIN_FAILURES_PER_ADDRESS = envint("GAME_PIN_FAILURES_PER_ADDRESS", 100)
GAME_PIN_LOCKOUT_MINUTES = envint("GAME_PIN_LOCKOUT_MINUTES", 10)

# Request and upload limits. The whole request is capped before anything reads it (the ASGI
# entry point refuses a larger body before Django spools it; the middleware does the same for
# WSGI); each import then has its own, smaller limit and checks archives before parsing.
MAX_REQUEST_MB = envint("MAX_REQUEST_MB", 10)
MAX_REQUEST_BYTES = MAX_REQUEST_MB * 1024 * 1024

# Redis is the Celery broker and the Channels layer when REDIS_URL is set. Without it,
# Celery uses kombu's filesystem transport (a queue of files under var/broker), so the
# embedded path still grades in a separate worker process with no server to install.
REDIS_URL = env("REDIS_URL")
BROKER_DIR = VAR_DIR / "broker"
# A Redis that is frozen (SIGSTOP, a hung host) still accepts connections and never answers:
# every client gives up on a command or a connection after these many seconds, so that Submit
# answers (the submission is saved; the sweeper rings for it later) instead of hanging.
# Above kombu's 1 s BRPOP, which a worker waits on while the queue is empty.
REDIS_SOCKET_TIMEOUT_SECONDS = envint("REDIS_SOCKET_TIMEOUT_SECONDS", 2)
REDIS_CONNECT_TIMEOUT_SECONDS = envint("REDIS_CONNECT_TIMEOUT_SECONDS", 2)
REDIS_BROKER_TRANSPORT_OPTIONS = {
    # Longer than any task's hard time limit, so Redis never redelivers a task that a
    # live worker is still grading.
    "visibility_timeout": 3600,
    "socket_timeout": REDIS_SOCKET_TIMEOUT_SECONDS,
    "socket_connect_timeout": REDIS_CONNECT_TIMEOUT_SECONDS,
    "socket_keepalive": True,
}

if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # Kombu's Redis transport, except that a lost connection cannot stop the worker (attentive/broker.py).
    CELERY_BROKER_TRANSPORT = "attentive.broker.Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = REDIS_BROKER_TRANSPORT_OPTIONS
    CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_CONNECT_TIMEOUT_SECONDS
    CELERY_REDIS_SOCKET_TIMEOUT = REDIS_SOCKET_TIMEOUT_SECONDS
    CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = REDIS_CONNECT_TIMEOUT_SECONDS
    # redis-py 8 changed two defaults that channels-redis 4.3 was built on; restore redis-py 7's:
    # - reads time out after 5 s, the length of channels-redis's blocking BZPOPMIN, so an idle
    #   consumer crashed with "Timeout reading from" (django/channels_redis#422), and a finite
    #   timeout lets a closing consumer's cancelled receive be retried forever. No read timeout.
    # - an asyncio pool refuses a 101st connection, which a lecture hall connecting at once
    #   exceeds ("Too many connections"). Redis's own client limit instead.
    # Connecting gives up after REDIS_CONNECT_TIMEOUT_SECONDS all the same.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": None, "max_connections": 10_000,
                           "socket_connect_timeout": REDIS_CONNECT_TIMEOUT_SECONDS, "socket_keepalive": True}],
                "capacity": 1500,
                "expiry": 30,
            },
        }
    }
else:
    CELERY_BROKER_URL = "filesystem://"
    # Kombu's, except that a worker never reads a message before it is whole (attentive/broker.py).
    CELERY_BROKER_TRANSPORT = "attentive.broker.FilesystemTransport"
    for folder in ("queue", "processed", "control"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A message that could not be sent is tried once more at once (a connection a Redis restart
# broke is replaced), not four times: with a frozen Redis, each try costs a socket timeout.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
# Celery closes the database connections around every task unless this is set; then it only
# recycles them every so many tasks, and exercises.tasks.refresh_connection applies Django's
# rule (CONN_MAX_AGE, which exercises.worker raises for grading workers, and errors) before each.
CELERY_DB_REUSE_MAX = 1000
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# The sweeper has a queue of its own, served by a worker that grades nothing (`serve` starts
# one; docker-compose's beat service is one): behind a backlog of submissions it would wait.
# Routed by task name: the grading tasks live in exercises/tasks.py but keep their "graders."
# names, so that messages already in the broker during a deploy still find their task.
CELERY_TASK_ROUTES = {
    "graders.sweep_stuck_submissions": {"queue": "maintenance"},
    "graders.*": {"queue": "grading"},
}
CELERY_BEAT_SCHEDULE = {
    "sweep-stuck-submissions": {
        "task": "graders.sweep_stuck_submissions",
        "schedule": float(envint("GRADING_SWEEP_SECONDS", 10)),
    },
    "prune-throttles": {"task": "frontdoor.prune_throttles", "schedule": 3600.0},
}

# Grading: the sweeper's patience. (GRADER_POOL_SIZE, the warm sandboxes kept ready per worker
# process, is read from the environment by graders.engine, which reads no Django settings.)
GRADING_HEARTBEAT_SECONDS = 2
GRADING_STALE_SECONDS = envint("GRADING_STALE_SECONDS", 15)
GRADING_REQUEUE_AFTER_SECONDS = envint("GRADING_REQUEUE_AFTER_SECONDS", 30)
GRADING_MAX_ATTEMPTS = envint("GRADING_MAX_ATTEMPTS", 3)
# Gradings that failed on our side are retried after 2, 4, 8 ... s (at most
# GRADING_INFRASTRUCTURE_BACKOFF_MAX_SECONDS), this many times, then marked `error` for staff:
# with the defaults, about 20 minutes of a broken grader.
GRADING_MAX_INFRASTRUCTURE_RETRIES = envint("GRADING_MAX_INFRASTRUCTURE_RETRIES", 10)
GRADING_INFRASTRUCTURE_BACKOFF_MAX_SECONDS = envint("GRADING_INFRASTRUCTURE_BACKOFF_MAX_SECONDS", 300)
# After the submission its message names, a grading task goes on grading queued submissions,
# the longest waiting first, for at most this long (0: never), so that in a burst a worker
# process does not wait for each next message (exercises.grading.grade_waiting).
GRADING_TAKE_NEXT_SECONDS = envint("GRADING_TAKE_NEXT_SECONDS", 2)
if not 0 <= GRADING_TAKE_NEXT_SECONDS <= CELERY_TASK_SOFT_TIME_LIMIT // 4:
    raise ImproperlyConfigured(
        f"GRADING_TAKE_NEXT_SECONDS={GRADING_TAKE_NEXT_SECONDS} is out of range: from 0 (off) to "
        f"{CELERY_TASK_SOFT_TIME_LIMIT // 4}, so that a grading task ends well within its time limit "
        f"({CELERY_TASK_SOFT_TIME_LIMIT} s)"
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}


# --- Reflections (reflections/) ---------------------------------------------------------------
# Seconds between a new answer and regrouping its prompt's answers into themes, so that a
# class answering at once causes one computation, not one per student.
REFLECTIONS_THEME_DELAY_SECONDS = envint("REFLECTIONS_THEME_DELAY_SECONDS", 15)
# Re-enqueues theme computations whose Celery message was lost or whose worker died.
CELERY_BEAT_SCHEDULE["reflections-sweep-theme-computations"] = {
    "task": "reflections.sweep_theme_computations",
    "schedule": 60.0,
}

# --- Live quizzes (the quizzes app) -------------------------------------------------------
# Joins per minute from one IP address. Generous: a lecture hall behind one NAT address
# joins all at once. The per-session limit stops one browser that loops on the join form.
QUIZ_JOINS_PER_IP_PER_MINUTE = envint("QUIZ_JOINS_PER_IP_PER_MINUTE", 600)
QUIZ_JOINS_PER_SESSION_PER_MINUTE = envint("QUIZ_JOINS_PER_SESSION_PER_MINUTE", 10)
