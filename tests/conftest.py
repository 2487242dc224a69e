import pytest
from django.conf import settings as django_settings

from smsplatform.limits import get_limiter
from smsplatform.celery import app as celery_app

from .browser import browser, page  # noqa: F401  (fixtures of the browser tests)
from .support import LeanCloudClient, Outbox, make_app


@pytest.fixture(autouse=True)
def _fresh_limits_and_cache():
    """Each test starts with no SMS counted and no flow-control hits."""
    get_limiter().clear()
    if django_settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(django_settings.REDIS_URL)
        keys = list(client.scan_iter(match="smsp:*", count=1000))
        if keys:
            client.delete(*keys)
    else:
        from django.core.cache import cache

        cache.clear()
    yield


@pytest.fixture(autouse=True)
def _fresh_carriers():
    """Each test reads carrier and route rows afresh (its database is rolled back after it) and
    closes the adapters it made (an SMPP bind to its own stand-in SMSC)."""
    from sms import route_stats
    from sms.carriers.registry import reset_registry
    from sms.receipt_writer import close_receipt_writer

    reset_registry()
    route_stats.reset()
    yield
    close_receipt_writer()
    reset_registry()


@pytest.fixture(autouse=True)
def _tasks_in_process():
    """In-process tests run Celery tasks eagerly; the live tests start a real worker instead."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def outbox(settings, tmp_path):
    settings.SMS_CONSOLE_OUTBOX = str(tmp_path / "outbox.jsonl")
    return Outbox(tmp_path / "outbox.jsonl")


@pytest.fixture
def app(db):
    return make_app()


@pytest.fixture
def lc(app, django_capture_on_commit_callbacks):
    """A client of `app` with its app key (X-LC-Sign), running on-commit work as a commit would."""
    return LeanCloudClient(app, capture=django_capture_on_commit_callbacks)


@pytest.fixture
def lc_master(app, django_capture_on_commit_callbacks):
    return LeanCloudClient(app, master=True, capture=django_capture_on_commit_callbacks)


@pytest.fixture(scope="session")
def live_stack(django_db_setup, tmp_path_factory):
    """gunicorn (several processes with Redis) and a Celery worker (with a broker) on the test database."""
    from .live import start_stack, stop

    stack, processes = start_stack(tmp_path_factory.mktemp("live"))
    yield stack
    stop(processes)


@pytest.fixture
def live_app(transactional_db):
    """An app committed to the database, so that the live servers see it."""
    return make_app()
