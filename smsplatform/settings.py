"""Settings: every value comes from the environment, read here and only here.

Each has an embedded default that works on a laptop: SQLite, local-memory cache and
rate limits, Celery tasks run in-process, the console carrier.
"""
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from sms.carriers.config import parse_carriers, register_kinds

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
# It keys the hashes of verification codes and signs the admin's sessions. A development machine
# (DEBUG on) may run on the published development key; nothing else runs without a key of its own.
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-secret-key-change-me-in-production"
SECRET_KEY = env("SECRET_KEY", default="") or (DEVELOPMENT_SECRET_KEY if DEBUG else "")
if not DEBUG and SECRET_KEY in ("", DEVELOPMENT_SECRET_KEY):
    raise ImproperlyConfigured(
        "SECRET_KEY is not set (or is the published development key) and DEBUG is off. It keys the hashes of "
        "verification codes and signs the admin's sessions: set SECRET_KEY to a long random value, e.g. "
        "SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(50))'), the same for every server "
        "and worker of the service; or, on a development machine only, set DEBUG=true."
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (absolute URLs then say https): the admin's
# session and CSRF cookies go over TLS only, answers carry HSTS, and a request that came in plain http
# is redirected to https (SECURE_SSL_REDIRECT=false when probes reach the server without the proxy).
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # A year (Django's advice once a site is https-only). Subdomains and preloading are the domain owner's
    # call, not this service's: off unless set (check --deploy's W005, W021; see the README).
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)

# Seconds a server process keeps an app (its keys and settings) before reading it again. A change saved
# anywhere (a rotated key) is seen at once by every process sharing the cache (Redis); without Redis,
# by this process at once and by others within this time. 0: read it on every request.
APP_CACHE_SECONDS = env.float("APP_CACHE_SECONDS", default=5.0)
# Billing: an account's cash balance is spread over this many rows, so that charges from that many
# connections at once do not queue on one row (accounts.models.Purse). Prices are cached per process
# for APP_CACHE_SECONDS as apps are.
BILLING_PURSES = env.int("BILLING_PURSES", default=32)
# Off: nothing is priced or charged (a deployment that does not bill its apps; the benchmark's baseline).
BILLING_ENABLED = env.bool("BILLING_ENABLED", default=True)
# The signature of smsplatform's own SMS (low-balance alerts).
PLATFORM_SMS_SIGNATURE = env("PLATFORM_SMS_SIGNATURE", default="短信平台")
# How far an X-LC-Sign timestamp may be from now, either way (the SDKs sign with the current time): past it, 401.
REQUEST_SIGN_MAX_SKEW_SECONDS = env.int("REQUEST_SIGN_MAX_SKEW_SECONDS", default=15 * 60)

# Mount point of the LeanCloud API: "" serves http://host/1.1/..., "sms/" serves http://host/sms/1.1/...
API_PREFIX = env("API_PREFIX", default="").strip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from here: /docs/ works offline
    "django_ratelimit",
    "captcha",
    "accounts",
    "templates_review",
    "captcha_app",
    "sms",
    "accounts.user_api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "smsplatform.urls"
WSGI_APPLICATION = "smsplatform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# --- Database -----------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN: concurrent writers queue instead of failing.
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL;",
    }
    # A file, not memory, so that the servers and workers the integration tests start share it.
    DATABASES["default"]["TEST"] = {
        "NAME": env("SQLITE_TEST_DATABASE", default=str(BASE_DIR / ".test-db.sqlite3"))
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    # Off by default: a health check is one more round trip on every request.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_CONN_HEALTH_CHECKS", default=False)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, rate limits, Celery broker -------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "smsp",
        }
    }
    # Django's own RedisCache increments atomically; django-ratelimit just does not list it.
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # Without Redis the service is one process: local memory is the shared cache there.
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]

# --- Celery ---------------------------------------------------------------------------------------
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    CELERY_BROKER_URL = "memory://"
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=8)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_BEAT_SCHEDULE = {
    # The safety nets of delivery (README, "Delivery"): accepted messages that lost their way to a
    # delivery loop; `sending` messages whose loop died; held receipts; the receipt timeout.
    "requeue-stalled-messages": {"task": "sms.tasks.requeue_stalled_messages", "schedule": 30.0},
    "recover-stuck-sending": {"task": "sms.tasks.recover_stuck_sending", "schedule": 5.0},
    "apply-held-receipts": {"task": "sms.tasks.apply_held_receipts", "schedule": 10.0},
    "expire-waiting-receipts": {"task": "sms.tasks.expire_waiting_receipts", "schedule": 300.0},
}

# --- SMS ------------------------------------------------------------------------------------------
# Carriers, as URLs (README, "Carriers"): kind://user:secret@host:port?param=value, comma-separated.
# Parsed and checked here, at start: a bad URL stops the process with the carrier and field named.
# More adapter kinds (kind=dotted.path.Class, comma-separated): a deployment's own adapters.
SMS_CARRIER_KINDS = register_kinds(env("SMS_CARRIER_KINDS", default=""))
SMS_CARRIERS = env("SMS_CARRIERS", default="console://")
SMS_CARRIER_CONFIGS = parse_carriers(SMS_CARRIERS)
# The console carrier appends each message as a JSON line to this file when it is set.
SMS_CONSOLE_OUTBOX = env("SMS_CONSOLE_OUTBOX", default="")
# How often a process looks for changed carrier and route rows (made in another process's admin).
SMS_CARRIER_REFRESH_SECONDS = env.float("SMS_CARRIER_REFRESH_SECONDS", default=5.0)
# Delivery loop (one per Celery worker instance): a batch is up to SMS_DELIVERY_BATCH messages; once its
# first id arrives the loop gathers for as long as SMS_DELIVERY_TARGET_BATCH ids take to arrive at the
# rate seen, but at most SMS_DELIVERY_LINGER_MS (the bound on the delay batching adds before submit).
SMS_DELIVERY_LOOP = env.bool("SMS_DELIVERY_LOOP", default=True)  # false: this worker holds no carrier
SMS_DELIVERY_BATCH = env.int("SMS_DELIVERY_BATCH", default=500)
SMS_DELIVERY_TARGET_BATCH = env.int("SMS_DELIVERY_TARGET_BATCH", default=50)
SMS_DELIVERY_LINGER_MS = env.float("SMS_DELIVERY_LINGER_MS", default=50.0)
# Receipts (and the delivery loop's submit results) are written in batches: at most this many, at most
# this long after the first one arrived (a status shows this much later; nothing waits for it).
SMS_RECEIPT_BATCH = env.int("SMS_RECEIPT_BATCH", default=500)
SMS_RECEIPT_LINGER_MS = env.float("SMS_RECEIPT_LINGER_MS", default=100.0)
# A record still waiting for its receipt this long after it was submitted gets its final mark.
SMS_RECEIPT_TIMEOUT_HOURS = env.float("SMS_RECEIPT_TIMEOUT_HOURS", default=72.0)
# A receipt that found no record is re-applied by beat this long, then logged and kept as "unknown id".
SMS_RECEIPT_HOLD_SECONDS = env.float("SMS_RECEIPT_HOLD_SECONDS", default=3600.0)
# A `sending` message whose holder gives no sign of life this long is settled (README, "Stuck sending"):
# the Redis heartbeat of a delivery loop lives SMS_LOOP_HEARTBEAT_SECONDS; without Redis, a lease.
SMS_LOOP_HEARTBEAT_SECONDS = env.float("SMS_LOOP_HEARTBEAT_SECONDS", default=15.0)
SMS_LOOP_STALL_SECONDS = env.float("SMS_LOOP_STALL_SECONDS", default=300.0)
SMS_SENDING_LEASE_SECONDS = env.float("SMS_SENDING_LEASE_SECONDS", default=600.0)
# Routes of strategy best_delivery_rate: the window of receipts they rank carriers by, the share of
# messages sent to another carrier than the best (so a recovered carrier wins traffic back), and the
# weight (in receipts) of the neutral prior an unknown carrier starts with.
SMS_ROUTE_WINDOW_SECONDS = env.float("SMS_ROUTE_WINDOW_SECONDS", default=900.0)
SMS_ROUTE_BUCKET_SECONDS = env.int("SMS_ROUTE_BUCKET_SECONDS", default=60)
SMS_ROUTE_EXPLORATION = env.float("SMS_ROUTE_EXPLORATION", default=0.05)
SMS_ROUTE_PRIOR_WEIGHT = env.float("SMS_ROUTE_PRIOR_WEIGHT", default=20.0)
# Carriers whose rates are within this of the best one's count as equal: the route's order decides.
SMS_ROUTE_RATE_TOLERANCE = env.float("SMS_ROUTE_RATE_TOLERANCE", default=0.05)
# Keys that seal clear texts on their way to the carrier and carrier secrets (smsplatform/sealing.py):
# comma-separated Fernet keys, the first seals, all unseal; empty: one key derived from SECRET_KEY.
SMS_SEALING_KEYS = env.list("SMS_SEALING_KEY", default=[])
# The public base URL carriers call back (Twilio status callbacks, Aliyun reports): + /carriers/<name>/receipts
SMS_CALLBACK_BASE_URL = env("SMS_CALLBACK_BASE_URL", default="").rstrip("/")

# --- Templates and their review -------------------------------------------------------------------
# Words that mark a template as marketing (refused on submission; ASCII words match whole words).
SMS_TEMPLATE_MARKETING_WORDS = env.list("SMS_TEMPLATE_MARKETING_WORDS", default=[
    "优惠", "促销", "折扣", "打折", "特价", "秒杀", "抢购", "红包", "返现", "免费领", "中奖", "抽奖", "限时优惠",
    "优惠券", "代金券", "满减", "大促", "清仓", "团购", "加微信", "退订", "回T退订",
    "sale", "discount", "promo", "promotion", "coupon", "unsubscribe", "free gift", "buy now",
])

# --- Mail (the review's decisions go to the account's owner) ----------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="smsplatform <noreply@localhost>")

# The app's test number's fixed code never dies: five wrong guesses within this many seconds lock it
# (603, the right code too) until this many seconds after the last one.
TEST_CODE_LOCKOUT_SECONDS = env.int("TEST_CODE_LOCKOUT_SECONDS", default=15 * 60)

# --- Captcha (django-simple-captcha draws the challenges) -----------------------------------------
# Each requestCaptcha picks its own length (size) and image size (width, height): they are passed per
# challenge, not set here. Images are drawn at the font's natural size and scaled to width x height.
CAPTCHA_CHALLENGE_FUNCT = "captcha_app.challenges.random_challenge"
CAPTCHA_LENGTH = 4  # requestCaptcha's default size too; used by the library for challenges it makes itself
CAPTCHA_FONT_SIZE = 22
CAPTCHA_IMAGE_SIZE = None
CAPTCHA_2X_IMAGE = True  # the library's scale 2, which images about 60 px high are drawn at
CAPTCHA_TIMEOUT = 3  # minutes: the longest ttl; each challenge stores its own expiry

# --- The size of what clients send ---------------------------------------------------------------
# Bytes of a request body: past it, 413 (code 116), before a byte past it is read. The API's bodies
# are a few hundred bytes.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=8192)
# Levels of nesting of a JSON body (the body itself is the first): deeper is 107.
API_MAX_JSON_DEPTH = env.int("API_MAX_JSON_DEPTH", default=32)
# Bytes of an end user's custom fields, as JSON: past it a sign-up or change is 413 (code 116).
USER_CUSTOM_FIELDS_MAX_BYTES = env.int("USER_CUSTOM_FIELDS_MAX_BYTES", default=4096)

# --- Per-client-IP flow control (django-ratelimit) -------------------------------------------------
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
# Calls that send an SMS, per client IP: "<count>/<s|m|h|d>", or "" for no limit.
RATELIMIT_SMS_PER_IP = env("RATELIMIT_SMS_PER_IP", default="100/m")
# Codes checked with their number (verifySmsCode, usersByMobilePhone, verifyMobilePhone,
# resetPasswordBySmsCode, changePhoneNumber), per client IP.
RATELIMIT_CODE_PER_IP = env("RATELIMIT_CODE_PER_IP", default="60/m")
# Password checks (/login by password or SMS code, updatePassword), per client IP: a burst of them tells
# registered names and numbers from unknown ones, and each costs a password hash.
RATELIMIT_LOGIN_PER_IP = env("RATELIMIT_LOGIN_PER_IP", default="30/m")
# Sign-ups (POST /users, /classes/_User), per client IP: each costs a password hash.
RATELIMIT_SIGNUP_PER_IP = env("RATELIMIT_SIGNUP_PER_IP", default="20/m")
# Changes of a user (PUT /users/<id>), per client IP.
RATELIMIT_USER_UPDATE_PER_IP = env("RATELIMIT_USER_UPDATE_PER_IP", default="60/m")
# Codes redeemed without their number (the JS SDK's verifyMobilePhone and resetPasswordBySmsCode), per
# client IP: each guess could be any user's code. A person types a code once or twice.
RATELIMIT_CODE_WITHOUT_NUMBER_PER_IP = env("RATELIMIT_CODE_WITHOUT_NUMBER_PER_IP", default="5/m")
# Failed guesses of codes without their number, per app (from any client): past it the app's path is
# closed (429) until the window has room again. Calls with the number, or with the user's session, stay open.
CODE_WITHOUT_NUMBER_FAILURES_PER_APP = env("CODE_WITHOUT_NUMBER_FAILURES_PER_APP", default="20/h")
# Captcha calls, per client IP. A person asks for a captcha (and its image) once or twice per SMS
# and answers it once; a bot guessing answers or farming images hits these first.
RATELIMIT_CAPTCHA_PER_IP = env("RATELIMIT_CAPTCHA_PER_IP", default="200/m")  # requestCaptcha
RATELIMIT_CAPTCHA_IMAGE_PER_IP = env("RATELIMIT_CAPTCHA_IMAGE_PER_IP", default="200/m")  # captchaImage
RATELIMIT_VERIFY_CAPTCHA_PER_IP = env("RATELIMIT_VERIFY_CAPTCHA_PER_IP", default="100/m")  # verifyCaptcha
# Attempts to log in to the admin per client IP, whatever the username.
RATELIMIT_ADMIN_LOGIN_PER_IP = env("RATELIMIT_ADMIN_LOGIN_PER_IP", default="30/h")
# Behind proxies: the request header they append the client's address to, e.g. HTTP_X_FORWARDED_FOR, and
# how many trusted proxies append to it. The client is the TRUSTED_PROXY_COUNT-th address from the right
# (smsplatform.client_ip); without the header, or with fewer addresses, the peer's address.
RATELIMIT_IP_META_KEY = env("RATELIMIT_IP_META_KEY", default="")
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1)
RATELIMIT_FAIL_OPEN = False

# --- Django REST framework ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["smsplatform.wire.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["smsplatform.wire.LeanCloudJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.AppKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [],
    "EXCEPTION_HANDLER": "smsplatform.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "smsplatform.schema.AutoSchema",
}

# --- The OpenAPI schema (drf-spectacular): /openapi.json, browsable at /docs/ -----------------------
SPECTACULAR_SETTINGS = {
    "TITLE": "smsplatform: LeanCloud's SMS and phone-login REST API",
    "VERSION": "1.1",
    "DESCRIPTION": (
        "SMS verification codes, phone sign-up and login, password reset by SMS and captcha, spoken the way "
        "LeanCloud's REST API spoke them: the official SDKs (Python `leancloud`, JS `leancloud-storage`) work "
        "unchanged against it.\n\n"
        "**Keys.** Every call but `GET /1.1/date` and `captchaImage` carries `X-LC-Id` and either "
        "`X-LC-Key: <appKey>` (`<masterKey>,master` for the master key) or "
        "`X-LC-Sign: md5(timestamp + key),timestamp[,master]`; the legacy `X-AVOSCloud-*` headers work too. "
        "An end user's calls add `X-LC-Session: <sessionToken>`.\n\n"
        "**Bodies** are JSON objects whatever the `Content-Type` says; `null` or an empty body reads as `{}`; "
        "anything else is 107. Query-string parameters ride on every call, the JSON body's win.\n\n"
        "**Errors** are non-2xx answers `{\"code\": <int>, \"error\": \"<text>\"}` (the `Error` component), "
        "unknown routes (404) and methods a route does not take (405) too."
    ),
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],  # the schema and its page need no keys
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SCHEMA_PATH_PREFIX": r"^/(?:[^/]+/)*?1\.1",  # the API, under any API_PREFIX
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True, "displayOperationId": False},
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            # accounts.authentication: X-LC-Id with X-LC-Key or X-LC-Sign (accounts.schema pairs them).
            "appId": {"type": "apiKey", "in": "header", "name": "X-LC-Id", "description": "The app id."},
            "appKey": {"type": "apiKey", "in": "header", "name": "X-LC-Key",
                       "description": "`<appKey>`, or `<masterKey>,master`."},
            "appSign": {"type": "apiKey", "in": "header", "name": "X-LC-Sign",
                        "description": "`md5(timestamp + appKey),timestamp` or "
                                       "`md5(timestamp + masterKey),timestamp,master` (timestamp in epoch ms)."},
            "session": {"type": "apiKey", "in": "header", "name": "X-LC-Session",
                        "description": "The end user's `sessionToken`."},
        },
    },
}

# --- Internationalisation, static files -----------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# Staff passwords (the admin's users; end users' passwords are LeanCloud's business).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The admin's login: this many failed passwords for one username from one address lock that login
# until ADMIN_LOGIN_LOCKOUT_SECONDS after the last failure (the right password is refused meanwhile).
ADMIN_LOGIN_FAILURES_ALLOWED = env.int("ADMIN_LOGIN_FAILURES_ALLOWED", default=5)
ADMIN_LOGIN_LOCKOUT_SECONDS = env.int("ADMIN_LOGIN_LOCKOUT_SECONDS", default=15 * 60)

# Django's defaults, then LeanCloud's hash for imported users (rehashed with the first at login).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "accounts.hashers.LeanCloudSHA512PasswordHasher",
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="WARNING")},
    "loggers": {
        "django": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
