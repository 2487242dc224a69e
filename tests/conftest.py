import pytest
from django.conf import settings as django_settings

# The helpers' own asserts say what differed, as a test's do.
pytest.register_assert_rewrite("tests.support", "tests.accounts.support", "tests.captcha_app.support")

from smsplatform.limits import LocalLimiter, get_limiter
from smsplatform.celery import app as celery_app
from templates_review.selectors import forget_everything as forget_signatures_and_templates

from .browser import browser, page  # noqa: F401  (fixtures of the browser tests)
from .factories import AppFactory
from .support import LeanCloudClient, Outbox


@pytest.fixture(autouse=True)
def _fresh_limits_and_cache():
    """Each test starts with no SMS counted and no flow-control hits, and no app's signatures or
    templates kept from another test (SQLite gives a rolled-back app's id again)."""
    get_limiter().clear()
    forget_signatures_and_templates()
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
def app_with(db):
    """Makes an app with the given settings: `app_with(force_captcha=True)` (an `AppFactory`)."""
    return AppFactory


def marked_app_settings(node) -> dict:
    """The settings the `app` marks of a test give, from its module's down to its own (nearer wins)."""
    settings = {}
    for mark in reversed(list(node.iter_markers("app"))):
        settings.update(mark.kwargs)
    return settings


@pytest.fixture
def app(request, app_with):
    """The test's app. `@pytest.mark.app(limit_per_minute=0)` on the test (or `pytestmark` of its
    module) gives it settings."""
    return app_with(**marked_app_settings(request.node))


@pytest.fixture
def live_app(transactional_db, app):
    """The test's app committed to the database, so that the live servers see it."""
    return app


@pytest.fixture
def client_of(db, django_capture_on_commit_callbacks):
    """A client of an app, e.g. `client_of(app_with(force_captcha=True))`: app key (X-LC-Sign), or
    `master=True`; on-commit work runs as a commit would run it."""
    def make(app, master=False):
        return LeanCloudClient(app, master=master, capture=django_capture_on_commit_callbacks)

    return make


@pytest.fixture
def lc(app, client_of):
    """A client of `app` with its app key."""
    return client_of(app)


@pytest.fixture
def lc_master(app, client_of):
    """A client of `app` with its master key."""
    return client_of(app, master=True)


@pytest.fixture(params=["local", "redis"] if django_settings.REDIS_URL else ["local"])
def limiter(request):
    """A limiter, empty: the local one, and with Redis configured the Redis one too."""
    chosen = LocalLimiter() if request.param == "local" else get_limiter()
    chosen.clear()
    return chosen


class _SessionStack:
    """The session's live stack: started by the first test that needs it, kept for the next ones, and
    stopped for a test that runs its own workers (`own_workers`), until a test needs it again."""

    def __init__(self, tmp_path_factory):
        self.tmp_path_factory = tmp_path_factory
        self.stack = None
        self.processes = []

    def get(self):
        if self.stack is None:
            from .live import start_stack

            self.stack, self.processes = start_stack(self.tmp_path_factory.mktemp("live"))
        return self.stack

    def stop(self):
        from .live import stop

        processes, self.stack, self.processes = self.processes, None, []
        stop(processes)


@pytest.fixture(scope="session")
def _session_stack(django_db_setup, tmp_path_factory):
    holder = _SessionStack(tmp_path_factory)
    yield holder
    holder.stop()


@pytest.fixture
def live_stack(_session_stack):
    """gunicorn (several processes with Redis) and a Celery worker (with a broker) on the test database."""
    return _session_stack.get()


@pytest.fixture
def own_workers(_session_stack):
    """For a test that starts its own Celery workers on the test database: no other deployment runs
    on it meanwhile. The session stack's worker would: its beat's safety nets (stuck `sending`
    messages of a dead loop, stalled `accepted` ones) act on every record of the database and queue
    what they recover on that worker's own queue, to its own carriers (console://), so they would
    take the test's messages away from the test's workers. Stopped first; the next test needing it
    starts it again."""
    _session_stack.stop()
    yield
