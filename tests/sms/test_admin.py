"""The send records in the admin: `sms/admin.py`."""
import pytest
from django.utils import timezone

from tests.factories import AppFactory, MessageFactory

pytestmark = pytest.mark.django_db


def test_send_records_filter_and_search(admin_client):
    app, other = AppFactory(), AppFactory()
    MessageFactory(app=app, phone="+8618600001111", status="delivered")
    MessageFactory(app=other, phone="+8618600002222", status="call_failed")
    listing = admin_client.get("/admin/sms/message/", {"q": "186 0000 1111"}).content.decode()
    assert "+8618600001111" in listing and "+8618600002222" not in listing
    listing = admin_client.get("/admin/sms/message/", {"status__exact": "call_failed"}).content.decode()
    assert "+8618600002222" in listing and "+8618600001111" not in listing
    listing = admin_client.get("/admin/sms/message/", {"app__id__exact": app.id}).content.decode()
    assert "+8618600001111" in listing and "+8618600002222" not in listing
    year = timezone.now().year
    listing = admin_client.get("/admin/sms/message/", {"created_at__year": year - 1}).content.decode()
    assert "+8618600001111" not in listing
    listing = admin_client.get("/admin/sms/message/", {"created_at__year": year}).content.decode()
    assert "+8618600001111" in listing
