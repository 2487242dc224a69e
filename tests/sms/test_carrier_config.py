"""SMS_CARRIERS: carrier URLs parsed when settings load; a bad one names the carrier and the field."""
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from sms.carriers.config import parse_carrier_url, parse_carriers
from sms.models import Carrier


def test_urls_of_each_kind_become_configs():
    console, smpp = parse_carriers(
        "console://?echo=false, smpp://sys%40id:p%40ss@smsc.example.com:2776?source=Brand&window=20&name=smpp-main")
    assert (console.name, console.kind, dict(console.params)) == ("console", "console", {"echo": "false"})
    assert (smpp.name, smpp.kind, smpp.username, smpp.secret) == ("smpp-main", "smpp", "sys@id", "p@ss")
    assert dict(smpp.params) == {"source": "Brand", "window": "20", "host": "smsc.example.com", "port": "2776"}
    assert "p@ss" not in repr(smpp)


def test_names_default_to_the_kind_then_numbered():
    configs = parse_carriers("console://,console://,console://?name=spare")
    assert [c.name for c in configs] == ["console", "console-2", "spare"]


def test_the_old_form_a_bare_kind_still_works():
    assert [(c.name, c.kind) for c in parse_carriers("console")] == [("console", "console")]


@pytest.mark.parametrize("value, message", [
    ("smpp://smsp:secret@:2775", "SMS_CARRIERS: smpp: host: the SMSC's host is required"),
    ("smpp://smsp:secret@h:notaport", "SMS_CARRIERS: smpp: port: not a port number"),
    ("smpp://smsp:secret@h:2775?window=0", "SMS_CARRIERS: smpp: window: 0 is out of range 1-1000"),
    ("smpp://:secret@h:2775", "SMS_CARRIERS: smpp: username: the system_id is required"),
    ("smpp://smsp:secret@h?colour=red", "SMS_CARRIERS: smpp: colour: unknown parameter for smpp"),
    ("carrier-pigeon://", "SMS_CARRIERS: carrier-pigeon: kind: unknown carrier kind"),
    ("console://?name=Bad Name", "SMS_CARRIERS: console: name: 'Bad Name'"),
    ("console:", "url: 'console:' is not a URL"),
    ("", "no carrier"),
])
def test_a_bad_url_fails_at_start_naming_the_field(value, message):
    with pytest.raises(ImproperlyConfigured) as error:
        parse_carriers(value)
    assert message in str(error.value)


def test_settings_refuse_a_bad_url_before_anything_starts(tmp_path):
    import subprocess
    import sys

    from django.conf import settings

    finished = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=settings.BASE_DIR, capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "smsplatform.settings",
             "SECRET_KEY": settings.SECRET_KEY, "SMS_CARRIERS": "smpp://smsp:secret@smsc:2775?window=many"},
        timeout=60,
    )
    assert finished.returncode != 0
    assert "ImproperlyConfigured: SMS_CARRIERS: smpp: window: 'many' is not an integer" in finished.stderr


def test_a_missing_adapter_kind_is_named(monkeypatch):
    from sms.carriers import KINDS, CarrierConfigError

    monkeypatch.setitem(KINDS, "twilio", "sms.carriers.no_such_module.TwilioCarrier")
    with pytest.raises(CarrierConfigError) as error:
        parse_carrier_url("twilio://AC1:tok@?from=%2B15550000000")
    assert error.value.field == "kind" and "not installed" in str(error.value)


@pytest.mark.django_db
def test_secrets_are_resealed_under_the_new_first_key(settings):
    from cryptography.fernet import Fernet

    from smsplatform import sealing

    old = sealing.sealing_key_from_secret(settings.SECRET_KEY)
    carrier = Carrier(name="c", kind="console")
    carrier.secret = "s3"
    carrier.save()
    new = Fernet.generate_key().decode()
    settings.SMS_SEALING_KEYS = [new, old]
    call_command("reseal_carrier_secrets")
    settings.SMS_SEALING_KEYS = [new]
    carrier.refresh_from_db()
    assert carrier.secret == "s3"
