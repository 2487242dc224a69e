import pytest
from django.contrib.auth import get_user_model

from accounts.models import App
from sms.models import Message
from tests.support import make_app

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("operator", password="pw")
    client.force_login(user)
    return client


def test_app_change_page_shows_keys_read_only_and_edits_settings(staff):
    app = make_app()
    page = staff.get(f"/admin/accounts/app/{app.id}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert app.app_key in html and app.master_key in html
    assert 'name="app_key"' not in html
    assert 'name="limit_per_minute"' in html


def test_creating_an_app_in_the_admin_generates_its_keys(staff):
    account = make_app().account
    form = {field: "" for field in ("app_id", "app_key", "master_key", "hook_key", "sms_signature",
                                     "test_phone_number", "engine_url")}
    form.update({
        "account": account.id, "name": "Admin-made", "timezone": "Asia/Shanghai", "test_phone_code": "123456",
        "sms_code_service_enabled": "on", "captcha_enabled": "on", "sms_login_enabled": "on",
        "limit_interval_seconds": 10, "limit_per_minute": 1, "limit_verification_per_24h": 10,
        "limit_voice_per_30s": 1, "limit_voice_per_hour": 3, "limit_voice_per_day": 5,
    })
    response = staff.post("/admin/accounts/app/add/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    app = App.objects.get(name="Admin-made")
    assert len(app.app_id) == 24 and len(app.app_key) == 24 and len(app.master_key) == 24


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
