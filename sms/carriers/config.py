"""`SMS_CARRIERS`: a comma-separated list of carrier URLs, parsed when settings load.

    console://
    smpp://SYSTEM_ID:PASSWORD@host:2775?source=SENDER&window=10&name=smpp-main
    twilio://ACCOUNT_SID:AUTH_TOKEN@?from=%2B15550000000
    aliyun://KEY_ID:KEY_SECRET@?region=cn-hangzhou&sign=...&template=SMS_123

The scheme is the kind; user and password are the carrier's username and secret; host and port, when
given, become the params `host` and `port`; the query holds the other params. `name` (a param)
defaults to the kind, then `kind-2`, `kind-3`, ... for duplicates. User, password and params are
percent-decoded. A bare kind (`console`, the setting's old form) means `console://`. Each config is checked by its adapter's `check_config`; a bad URL raises
ImproperlyConfigured("SMS_CARRIERS: <name>: <field>: <message>").

Pure functions: importable from settings.py before Django's apps load (no ORM, no project models).
"""
import re
from types import MappingProxyType
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

from . import KINDS, adapter_class
from .base import CarrierConfig, CarrierConfigError

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
NAME_RULE = "1-32 lowercase letters, digits, '-' or '_', starting with a letter or digit"


def register_kinds(value: str) -> dict[str, str]:
    """`SMS_CARRIER_KINDS`: more adapter kinds, `kind=dotted.path.Class` comma-separated (a deployment's
    own adapter; the tests' fake carriers). Added to `KINDS`; ImproperlyConfigured when malformed."""
    added = {}
    for item in split_urls(value):
        kind, sep, path = item.partition("=")
        if not sep or not NAME.match(kind.strip()) or "." not in path:
            raise ImproperlyConfigured(f"SMS_CARRIER_KINDS: {item!r} is not kind=dotted.path.Class")
        added[kind.strip()] = path.strip()
    KINDS.update(added)
    return added


def split_urls(value: str) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def parse_carrier_url(url: str, *, taken: set[str] = frozenset()) -> CarrierConfig:
    """One URL -> a checked CarrierConfig; CarrierConfigError (with `.carrier`, the name) when bad."""
    label = url.split("://", 1)[0] or url
    try:
        config = _parse(url, taken)
        label = config.name
        check_config(config)
        return config
    except CarrierConfigError as exc:
        exc.carrier = label
        raise


def _parse(url: str, taken) -> CarrierConfig:
    if url in KINDS:  # a bare kind, as the old SMS_CARRIERS=console said
        url = f"{url}://"
    if "://" not in url:
        raise CarrierConfigError("url", f"{url!r} is not a URL like kind://user:secret@host:port?param=value")
    parts = urlsplit(url)
    kind = parts.scheme.lower()
    params = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in params:
            raise CarrierConfigError(key, "given twice")
        params[key] = value
    try:
        port = parts.port
    except ValueError:
        raise CarrierConfigError("port", f"not a port number: {parts.netloc.rpartition(':')[2]!r}")
    if parts.hostname:
        params.setdefault("host", parts.hostname)
    if port is not None:
        params.setdefault("port", str(port))
    name = params.pop("name", "")
    if not name:
        name, n = kind, 1
        while name in taken:
            n += 1
            name = f"{kind}-{n}"
    elif name in taken:
        raise CarrierConfigError("name", f"{name!r} is used by another carrier")
    if not NAME.match(name):
        raise CarrierConfigError("name", f"{name!r}: {NAME_RULE}")
    return CarrierConfig(
        name=name, kind=kind, username=unquote(parts.username or ""), secret=unquote(parts.password or ""),
        params=MappingProxyType(params),
    )


def check_config(config: CarrierConfig) -> None:
    """The adapter's own check of a config (CarrierConfigError naming the field)."""
    if not NAME.match(config.name or ""):
        raise CarrierConfigError("name", f"{config.name!r}: {NAME_RULE}")
    adapter_class(config.kind).check_config(config)


def parse_carriers(value: str) -> tuple[CarrierConfig, ...]:
    """The whole setting; ImproperlyConfigured naming the carrier and the field when a URL is bad."""
    configs, taken = [], set()
    for url in split_urls(value):
        try:
            config = parse_carrier_url(url, taken=taken)
        except CarrierConfigError as exc:
            raise ImproperlyConfigured(f"SMS_CARRIERS: {getattr(exc, 'carrier', url)}: {exc}") from None
        taken.add(config.name)
        configs.append(config)
    if not configs:
        raise ImproperlyConfigured("SMS_CARRIERS: no carrier: give at least one URL, e.g. console://")
    return tuple(configs)
