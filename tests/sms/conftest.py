import pytest

from sms.carriers import KINDS

KINDS.setdefault("fake", "tests.sms.fake_carriers.FakeCarrier")
KINDS.setdefault("fakevoice", "tests.sms.fake_carriers.FakeVoiceCarrier")


@pytest.fixture(autouse=True)
def _fake_carriers_forget():
    from tests.sms import fake_carriers

    fake_carriers.SENT.clear()
    yield
    fake_carriers.SENT.clear()
