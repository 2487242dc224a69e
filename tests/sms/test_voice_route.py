"""Voice codes need a route of carriers that can speak: otherwise a clear 602, before anything is
counted or stored."""
import pytest

from sms.models import Message, VerificationCode
from tests.sms.carrier_support import make_carrier, make_route
from tests.support import unique_phone

pytestmark = pytest.mark.django_db
URL = "/1.1/requestSmsCode"


def test_no_voice_carrier_is_602_and_nothing_is_counted_or_stored(lc, app):
    mute = make_carrier("mute")  # cannot speak
    make_route([mute], channel="voice")
    phone = unique_phone()
    response = lc.post(URL, {"mobilePhoneNumber": phone, "smsType": "voice"})
    assert response.status_code == 400
    assert response.json() == {"code": 602, "error": "Fails to send message: no carrier that supports voice is "
                                                     "configured for this number."}
    assert not Message.objects.filter(phone=phone).exists() and not VerificationCode.objects.exists()
    # Nothing was counted: once a carrier that speaks is on the route, the same number gets its code at once.
    make_route([make_carrier("speaker", kind="fakevoice")], channel="voice", position=0, country_code="86")
    response = lc.post(URL, {"mobilePhoneNumber": phone, "smsType": "voice"})
    assert response.status_code == 200
    assert Message.objects.get(phone=phone).carrier == "speaker"


def test_sms_still_goes_when_only_voice_is_unroutable(lc):
    make_route([make_carrier("mute")], channel="voice")
    phone = unique_phone()
    assert lc.post(URL, {"mobilePhoneNumber": phone}).status_code == 200


def test_the_embedded_default_speaks_through_the_console(lc, outbox):
    phone = unique_phone()
    assert lc.post(URL, {"mobilePhoneNumber": phone, "smsType": "voice"}).status_code == 200
    assert outbox.messages(phone)[0]["channel"] == "voice"
