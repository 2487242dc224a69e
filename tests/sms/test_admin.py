"""The send records in the admin: `sms/admin.py`."""
import pytest
from django.contrib.auth import get_user_model

from sms.models import Message
from tests.support import make_app

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("operator", password="pw")
    client.force_login(user)
    return client


def test_send_records_filter_and_search(staff):
    app, other = make_app(), make_app()
    Message.objects.create(app=app, phone="+8618600001111", text="a", status="delivered")
    Message.objects.create(app=other, phone="+8618600002222", text="b", status="call_failed")
    listing = staff.get("/admin/sms/message/", {"q": "186 0000 1111"}).content.decode()
    assert "+8618600001111" in listing and "+8618600002222" not in listing
    listing = staff.get("/admin/sms/message/", {"status__exact": "call_failed"}).content.decode()
    assert "+8618600002222" in listing and "+8618600001111" not in listing
    listing = staff.get("/admin/sms/message/", {"app__id__exact": app.id}).content.decode()
    assert "+8618600001111" in listing and "+8618600002222" not in listing
    from django.utils import timezone

    year = timezone.now().year
    listing = staff.get("/admin/sms/message/", {"created_at__year": year - 1}).content.decode()
    assert "+8618600001111" not in listing
    listing = staff.get("/admin/sms/message/", {"created_at__year": year}).content.decode()
    assert "+8618600001111" in listing
