import re

import pytest
from captcha.models import CaptchaStore
from django.core.management import call_command

from .support import answer_of, challenge_of, request_captcha, time_passes

pytestmark = pytest.mark.django_db

USAGE = "/admin/captcha_app/appcaptchausage/"


def play(lc, solved=0, failed=0, unanswered=0):
    """Captchas of lc's app: some answered right, some wrong, some never."""
    for outcome in ["solved"] * solved + ["failed"] * failed + ["unanswered"] * unanswered:
        token = request_captcha(lc)["captcha_token"]
        if outcome != "unanswered":
            code = answer_of(token) if outcome == "solved" else "nope"
            lc.post("/1.1/verifyCaptcha", {"captcha_token": token, "captcha_code": code})


def row_of(html: str, app) -> list[str]:
    """The cells of `app`'s row in the usage list."""
    row = next(r for r in re.findall(r"<tr.*?</tr>", html, re.S) if app.app_id in r)
    return [re.sub(r"<.*?>", "", cell).strip() for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]


def test_usage_shows_issued_solved_failed_per_app(admin_client, client_of, app_with):
    busy, quiet = app_with(name="Busy"), app_with(name="Quiet")
    play(client_of(busy), solved=3, failed=2, unanswered=1)
    play(client_of(quiet), solved=1)
    page = admin_client.get(USAGE)
    assert page.status_code == 200
    html = page.content.decode()
    # app, app id, enabled, forced, issued, solved, failed, unanswered, tokens used, failed / answered
    assert row_of(html, busy)[4:] == ["6", "3", "2", "1", "0", "40%"]
    assert row_of(html, quiet)[4:] == ["1", "1", "0", "0", "0", "0%"]
    assert html.index(busy.app_id) < html.index(quiet.app_id)  # busiest first


def test_usage_counts_validate_tokens_used(admin_client, app, lc, outbox):
    token = request_captcha(lc)["captcha_token"]
    validate_token = lc.post("/1.1/verifyCaptcha", {"captcha_token": token, "captcha_code": answer_of(token)}).json()
    lc.post("/1.1/requestSmsCode", {"mobilePhoneNumber": "+8618600001234", **validate_token})
    assert row_of(admin_client.get(USAGE).content.decode(), app)[4:9] == ["1", "1", "0", "0", "1"]


def test_usage_over_a_period(admin_client, app, lc):
    play(lc, solved=1, failed=1)
    time_passes(2 * 24 * 3600)
    play(lc, failed=1)
    assert row_of(admin_client.get(USAGE, {"period": "24h"}).content.decode(), app)[4:7] == ["1", "0", "1"]
    assert row_of(admin_client.get(USAGE, {"period": "7d"}).content.decode(), app)[4:7] == ["3", "1", "2"]
    assert row_of(admin_client.get(USAGE).content.decode(), app)[4:7] == ["3", "1", "2"]


def test_an_app_without_challenges_shows_zeros(admin_client, app):
    assert row_of(admin_client.get(USAGE).content.decode(), app)[4:] == ["0", "0", "0", "0", "0", "-"]


def test_challenges_are_listed_without_their_answers(admin_client, lc, lc_master):
    play(lc, solved=1)
    token = request_captcha(lc_master, "size=6")["captcha_token"]
    listing = admin_client.get("/admin/captcha_app/captchachallenge/").content.decode()
    rows = listing.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert "Solved" in rows and "Pending" in rows
    solved_only = admin_client.get("/admin/captcha_app/captchachallenge/", {"status__exact": "solved"}).content.decode()
    assert "Pending" not in solved_only.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    detail = admin_client.get(f"/admin/captcha_app/captchachallenge/{challenge_of(token).id}/change/")
    assert detail.status_code == 200
    for page in (listing, detail.content.decode()):
        assert answer_of(token) not in page.upper()


def test_cleaning_expired_answers_keeps_the_figures(admin_client, app, lc, client_of, app_with):
    """django-simple-captcha's `captcha_clean` (run from cron) drops expired answers, not the counts."""
    play(lc, solved=1, failed=1, unanswered=1)
    play(client_of(app_with()), unanswered=1)
    time_passes(181)
    live = request_captcha(lc)["captcha_token"]
    call_command("captcha_clean", verbosity=0)
    assert list(CaptchaStore.objects.values_list("challenge", flat=True)) == [answer_of(live)]
    assert row_of(admin_client.get(USAGE).content.decode(), app)[4:8] == ["4", "1", "1", "2"]
