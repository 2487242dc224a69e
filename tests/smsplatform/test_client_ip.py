"""The client's address behind trusted proxies (`smsplatform/client_ip.py`): what every per-IP budget
and the admin's lockout count against."""
import pytest
from django.contrib.auth import get_user_model

from smsplatform.errors import Errors
from tests.support import assert_error, unique_phone

pytestmark = pytest.mark.django_db

URL = "/1.1/requestSmsCode"
PROXY = {"REMOTE_ADDR": "10.0.0.1"}  # the proxy in front of the service, as the service sees it


@pytest.fixture
def behind_a_proxy(settings):
    settings.RATELIMIT_IP_META_KEY = "HTTP_X_FORWARDED_FOR"
    settings.TRUSTED_PROXY_COUNT = 1
    settings.RATELIMIT_SMS_PER_IP = "2/m"
    return settings


def send(lc, **meta):
    return lc.post(URL, {"mobilePhoneNumber": unique_phone()}, **meta)


@pytest.mark.parametrize("forwarded", [None, "", "unknown", "203.0.113.9, ", " , ", "not-an-ip, also not",
                                       "203.0.113.9:443, [2001:db8::1]:80"],
                         ids=["no-header", "empty", "garbage", "trailing-comma", "only-commas", "no-address",
                              "with-ports"])
def test_any_forwarded_header_or_none_is_never_a_500(lc, outbox, behind_a_proxy, forwarded):
    meta = {**PROXY, **({"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {})}
    assert [send(lc, **meta).status_code for _ in range(2)] == [200, 200]
    assert_error(send(lc, **meta), Errors.TOO_MANY_REQUESTS)


def test_the_right_most_address_a_trusted_proxy_added_is_the_client(lc, outbox, behind_a_proxy):
    """The proxy appends the address it saw: what the client wrote before it (a forged address) is ignored."""
    alice = {**PROXY, "HTTP_X_FORWARDED_FOR": "203.0.113.7"}
    forging = {**PROXY, "HTTP_X_FORWARDED_FOR": "198.51.100.1, 203.0.113.7"}
    assert send(lc, **alice).status_code == 200
    assert send(lc, **forging).status_code == 200
    assert_error(send(lc, **{**PROXY, "HTTP_X_FORWARDED_FOR": "1.1.1.1, 203.0.113.7"}), Errors.TOO_MANY_REQUESTS)
    # Another client behind the same proxy has a budget of its own.
    assert send(lc, **{**PROXY, "HTTP_X_FORWARDED_FOR": "203.0.113.8"}).status_code == 200


def test_with_two_trusted_proxies_the_second_address_from_the_right_is_the_client(lc, outbox, behind_a_proxy):
    behind_a_proxy.TRUSTED_PROXY_COUNT = 2
    for edge in ("192.0.2.1", "192.0.2.2"):  # the outer proxy (a CDN) reached us through either edge
        assert send(lc, **{**PROXY, "HTTP_X_FORWARDED_FOR": f"9.9.9.9, 203.0.113.7, {edge}"}).status_code == 200
    assert_error(send(lc, **{**PROXY, "HTTP_X_FORWARDED_FOR": "203.0.113.7, 192.0.2.3"}), Errors.TOO_MANY_REQUESTS)


def test_fewer_addresses_than_trusted_proxies_fall_back_to_the_peer(lc, outbox, behind_a_proxy):
    behind_a_proxy.TRUSTED_PROXY_COUNT = 2
    for forwarded in ("203.0.113.1", "203.0.113.2"):
        assert send(lc, **{**PROXY, "HTTP_X_FORWARDED_FOR": forwarded}).status_code == 200
    assert_error(send(lc, **{**PROXY, "HTTP_X_FORWARDED_FOR": "203.0.113.3"}), Errors.TOO_MANY_REQUESTS)


def test_an_empty_peer_address_is_no_500(lc, outbox, settings):
    """A unix-socket proxy leaves REMOTE_ADDR empty: django-ratelimit's own lookup raised."""
    settings.RATELIMIT_SMS_PER_IP = "1/m"
    assert send(lc, REMOTE_ADDR="").status_code == 200
    assert_error(send(lc, REMOTE_ADDR=""), Errors.TOO_MANY_REQUESTS)


def test_the_admin_lockout_counts_the_same_client_address(client, behind_a_proxy):
    get_user_model().objects.create_superuser("operator", password="a long, uncommon passphrase")
    mallory = {**PROXY, "HTTP_X_FORWARDED_FOR": "203.0.113.66"}
    for _ in range(5):
        client.post("/admin/login/", {"username": "operator", "password": "guess"}, **mallory)
    locked = client.post("/admin/login/", {"username": "operator", "password": "a long, uncommon passphrase"}, **mallory)
    assert "Too many failed logins" in locked.content.decode()
    operator = {**PROXY, "HTTP_X_FORWARDED_FOR": "203.0.113.5"}
    response = client.post("/admin/login/", {"username": "operator", "password": "a long, uncommon passphrase",
                                             "next": "/admin/"}, **operator)
    assert response.status_code == 302
