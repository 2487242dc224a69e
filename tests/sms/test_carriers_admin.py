"""The admin of carriers, routes and send records (Django's test client)."""
import pytest
from django.contrib.auth.models import User

from sms import delivery, send_records
from sms.carriers import CarrierReceipt
from sms.carriers.registry import get_registry
from sms.models import Carrier, MessagePart, Route
from tests.factories import AppFactory
from tests.sms.carrier_support import accepted, make_carrier, make_route

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    User.objects.create_superuser("ops", "ops@example.com", "pw")
    client.login(username="ops", password="pw")
    return client


def carrier_form(**fields):
    data = {"name": "smpp-main", "kind": "smpp", "enabled": "on", "username": "smsp", "secret": "",
            "params": '{"host": "127.0.0.1", "port": "2775"}'}
    data.update(fields)
    return data


def test_a_carrier_is_added_with_a_write_only_secret(staff):
    response = staff.post("/admin/sms/carrier/add/", carrier_form(secret="hunter42"))
    assert response.status_code == 302, response.content.decode()[:2000]
    carrier = Carrier.objects.get(name="smpp-main")
    assert carrier.secret == "hunter42" and "hunter42" not in carrier.secret_sealed
    page = staff.get(f"/admin/sms/carrier/{carrier.id}/change/").content.decode()
    assert "hunter42" not in page and "••••42" in page
    assert "hunter42" not in staff.get("/admin/sms/carrier/").content.decode()
    # an empty secret keeps the old one; a new one replaces it
    staff.post(f"/admin/sms/carrier/{carrier.id}/change/", carrier_form(secret="", params='{"host": "h", "window": "20"}'))
    carrier.refresh_from_db()
    assert carrier.secret == "hunter42" and carrier.params == {"host": "h", "window": "20"}
    staff.post(f"/admin/sms/carrier/{carrier.id}/change/", carrier_form(secret="n3w"))
    carrier.refresh_from_db()
    assert carrier.secret == "n3w"


def test_a_secret_param_is_write_only_too(staff):
    """Aliyun's callback token rides in the params: the admin shows its hint only, and keeps it."""
    token = "rcpt_4f9c2d7e1a8b3c6d"
    params = f'{{"template": "SMS_123456", "callback_token": "{token}"}}'
    response = staff.post("/admin/sms/carrier/add/", carrier_form(name="aliyun-cn", kind="aliyun", username="LTAIkey",
                                                                  secret="s3cret-key", params=params))
    assert response.status_code == 302, response.content.decode()[:2000]
    carrier = Carrier.objects.get(name="aliyun-cn")
    page = staff.get(f"/admin/sms/carrier/{carrier.id}/change/").content.decode()
    assert token not in page and "••••6d" in page
    # The form posted back as shown keeps the token; a new value replaces it.
    shown = '{"template": "SMS_654321", "callback_token": "••••6d"}'
    staff.post(f"/admin/sms/carrier/{carrier.id}/change/", carrier_form(name="aliyun-cn", kind="aliyun",
                                                                        username="LTAIkey", params=shown))
    carrier.refresh_from_db()
    assert carrier.params == {"template": "SMS_654321", "callback_token": token}
    fresh = "rcpt_0123456789abcdef"
    staff.post(f"/admin/sms/carrier/{carrier.id}/change/", carrier_form(
        name="aliyun-cn", kind="aliyun", username="LTAIkey",
        params=f'{{"template": "SMS_654321", "callback_token": "{fresh}"}}'))
    carrier.refresh_from_db()
    assert carrier.params["callback_token"] == fresh


def test_the_adapters_check_shows_on_the_field(staff):
    response = staff.post("/admin/sms/carrier/add/", carrier_form(params='{"port": "2775"}'))
    assert response.status_code == 200
    assert "host: the SMSC" in response.content.decode()
    response = staff.post("/admin/sms/carrier/add/", carrier_form(params='{"host": "h", "window": "lots"}'))
    assert "window: &#x27;lots&#x27; is not an integer" in response.content.decode()
    response = staff.post("/admin/sms/carrier/add/", carrier_form(name="Bad Name"))
    assert "lowercase letters" in response.content.decode()
    assert not Carrier.objects.exists() or not Carrier.objects.filter(kind="smpp").exists()


def test_a_carrier_set_by_sms_carriers_is_read_only(staff):
    get_registry().snapshot()  # the console row of SMS_CARRIERS
    console = Carrier.objects.get(name="console")
    assert console.from_settings
    page = staff.get(f"/admin/sms/carrier/{console.id}/change/").content.decode()
    assert "set by SMS_CARRIERS" in page and 'name="username"' not in page
    staff.post(f"/admin/sms/carrier/{console.id}/change/", {"name": "renamed", "kind": "smpp", "username": "x"})
    console.refresh_from_db()
    assert console.name == "console" and console.kind == "console"
    assert staff.post(f"/admin/sms/carrier/{console.id}/delete/", {"post": "yes"}).status_code == 403
    staff.post("/admin/sms/carrier/", {"action": "disable", "_selected_action": [console.id]})
    console.refresh_from_db()
    assert console.enabled


def test_carriers_are_disabled_and_enabled_from_the_list(staff):
    carrier = make_carrier("spare")
    staff.post("/admin/sms/carrier/", {"action": "disable", "_selected_action": [carrier.id]})
    carrier.refresh_from_db()
    assert not carrier.enabled


def test_a_route_is_added_with_its_carriers_in_order_and_reordered_from_the_list(staff):
    a, b = make_carrier("a"), make_carrier("b")
    response = staff.post("/admin/sms/route/add/", {
        "country_code": "86", "channel": "sms", "position": "1", "enabled": "on", "strategy": "best_delivery_rate",
        "route_carriers-TOTAL_FORMS": "2", "route_carriers-INITIAL_FORMS": "0",
        "route_carriers-MIN_NUM_FORMS": "0", "route_carriers-MAX_NUM_FORMS": "1000",
        "route_carriers-0-position": "1", "route_carriers-0-carrier": str(b.id),
        "route_carriers-1-position": "0", "route_carriers-1-carrier": str(a.id),
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    route = Route.objects.get()
    listing = staff.get("/admin/sms/route/").content.decode()
    assert "a → b" in listing
    snapshot = get_registry().snapshot()
    assert snapshot.routes[0].carrier_ids == (a.id, b.id)
    response = staff.post("/admin/sms/route/", {
        "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-MIN_NUM_FORMS": "0", "form-MAX_NUM_FORMS": "1000",
        "form-0-id": str(route.id), "form-0-position": "7", "_save": "Save",
    })
    route.refresh_from_db()
    assert route.position == 7 and not route.enabled  # the checkbox was not sent: disabled from the list


def test_a_send_record_shows_its_attempts_and_receipts_in_order_and_the_carrier_its_figures(staff):
    down, good = make_carrier("down", outcome="raise"), make_carrier("good")
    make_route([down, good])
    message = accepted(AppFactory())
    delivery.deliver_messages([message.id])
    part = MessagePart.objects.get(message=message).carrier_message_id
    send_records.write_receipts(good.id, [CarrierReceipt(part, True, raw="id:x stat:DELIVRD")])
    page = staff.get(f"/admin/sms/message/{message.id}/change/").content.decode()
    assert page.index("Attempts, in order") < page.index("Receipts, in order")
    attempts = page[page.index("Attempts, in order"):page.index("Receipts, in order")]
    assert attempts.index("down") < attempts.index("good") and "connection refused" in attempts
    assert "stat:DELIVRD" in page and "123456" not in page
    carrier_page = staff.get(f"/admin/sms/carrier/{good.id}/change/").content.decode()
    assert "delivery rate" in carrier_page and "100.0%" in carrier_page
    assert "sent 1, delivered 1, failed 0, rate 100.0%" in staff.get("/admin/sms/carrier/").content.decode()
