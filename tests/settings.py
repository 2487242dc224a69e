"""The test suite's settings: the service's own (`smsplatform.settings`), given a key made for tests.

Without DEBUG the service refuses to start without a SECRET_KEY of its own; the suite (and the live
servers and workers it starts, which get this key from `tests.live`) runs on this one, unless the
environment sets another.
"""
import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-any-deployment-7d1f0c2b9a4e")

from smsplatform.settings import *  # noqa: E402,F401,F403
