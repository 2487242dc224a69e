"""Settings a deployment runs with (`smsplatform/settings.py`), each in a fresh process that reads
the environment as a server would."""
import json
import os
import re
import subprocess
import sys

from django.conf import settings

STRONG_KEY = "x9Vq3LrT8mW2nB6cK1pZ4sY7hJ0gF5dA-strong-enough-for-the-deploy-check"
DEPLOYED = {"BEHIND_TLS_PROXY": "true", "SECRET_KEY": STRONG_KEY, "ALLOWED_HOSTS": "sms.example.com"}


def django(code: str = "", *, command: tuple[str, ...] = (), **env) -> subprocess.CompletedProcess:
    """Run `manage.py command` (or Python `code` after django.setup()) with these environment variables
    in place of the test run's own settings."""
    environ = {key: value for key, value in os.environ.items()
               if key not in ("DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DEBUG", "BEHIND_TLS_PROXY", "ALLOWED_HOSTS")}
    environ.update(DJANGO_SETTINGS_MODULE="smsplatform.settings", **env)
    if command:
        args = [sys.executable, "manage.py", *command]
    else:
        args = [sys.executable, "-c", "import django; django.setup()\n" + code]
    return subprocess.run(args, cwd=settings.BASE_DIR, env=environ, capture_output=True, text=True, timeout=120)


def test_behind_a_tls_proxy_the_deploy_check_leaves_only_what_the_readme_explains():
    finished = django(command=("check", "--deploy"), **DEPLOYED)
    warnings = set(re.findall(r"\(security\.(W\d+)\)", finished.stdout + finished.stderr))
    # W005 (HSTS for every subdomain) and W021 (HSTS preload): the README's "Production" says why they are off.
    assert warnings == {"W005", "W021"}, finished.stdout + finished.stderr


def test_behind_a_tls_proxy_cookies_are_secure_and_answers_carry_hsts():
    code = """
import json
from django.conf import settings
from django.test import Client
client = Client(HTTP_HOST="sms.example.com")
over_tls = client.get("/admin/login/", HTTP_X_FORWARDED_PROTO="https")
plain = client.get("/admin/login/")
print(json.dumps({
    "session_secure": settings.SESSION_COOKIE_SECURE, "csrf_secure": settings.CSRF_COOKIE_SECURE,
    "hsts": over_tls.headers.get("Strict-Transport-Security"),
    "csrf_cookie_secure": bool(over_tls.cookies["csrftoken"]["secure"]),
    "plain": [plain.status_code, plain.headers.get("Location")],
}))
"""
    finished = django(code, **DEPLOYED)
    assert finished.returncode == 0, finished.stderr
    shown = json.loads(finished.stdout.strip().splitlines()[-1])
    assert shown == {"session_secure": True, "csrf_secure": True, "hsts": "max-age=31536000",
                     "csrf_cookie_secure": True, "plain": [301, "https://sms.example.com/admin/login/"]}


# --- SECRET_KEY -----------------------------------------------------------------------------------------

DEVELOPMENT_KEY = "dev-only-insecure-secret-key-change-me-in-production"


def test_without_debug_the_service_refuses_to_start_without_a_secret_key():
    finished = django(command=("check",))
    assert finished.returncode != 0
    assert "SECRET_KEY" in finished.stderr and "secrets.token_urlsafe" in finished.stderr
    assert "Traceback" not in finished.stderr.split("ImproperlyConfigured")[-1]


def test_without_debug_the_published_development_key_is_refused_too():
    finished = django(command=("check",), SECRET_KEY=DEVELOPMENT_KEY)
    assert finished.returncode != 0 and "SECRET_KEY" in finished.stderr


def test_with_a_secret_key_or_debug_on_the_service_starts():
    assert django(command=("check",), SECRET_KEY=STRONG_KEY).returncode == 0
    debug = django("from django.conf import settings; print(settings.SECRET_KEY)", DEBUG="true")
    assert debug.returncode == 0, debug.stderr
    assert debug.stdout.strip().splitlines()[-1] == DEVELOPMENT_KEY
