"""The client's address: the one function every per-IP budget (django-ratelimit's key) and the
admin's login lockout count against.

Without a proxy it is the peer's address (REMOTE_ADDR). Behind TRUSTED_PROXY_COUNT proxies that each
append the address they saw to a header (RATELIMIT_IP_META_KEY, e.g. HTTP_X_FORWARDED_FOR), it is the
address the outermost trusted proxy added: the TRUSTED_PROXY_COUNT-th from the right. Whatever a
client wrote to the left of it is ignored (it could forge anything there). A missing header, fewer
addresses than trusted proxies, or anything that is not an address falls back to the peer's
address; nothing here ever raises.
"""
import ipaddress

from django.conf import settings

UNKNOWN = "0.0.0.0"  # no address at all (a unix socket without the header): one shared budget


def _address(text: str) -> str | None:
    """`text` as an IP address (ports and IPv6 brackets dropped: `1.2.3.4:80`, `[::1]:80`), or None."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # IPv4 with a port (an IPv6 address has several colons)
        text = text.partition(":")[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def client_ip(request) -> str:
    """The client's address (see the module's docstring)."""
    meta = request.META
    header, trusted = settings.RATELIMIT_IP_META_KEY, settings.TRUSTED_PROXY_COUNT
    if header and trusted > 0:
        hops = [hop for hop in meta.get(header, "").split(",") if hop.strip()]
        if len(hops) >= trusted:
            found = _address(hops[-trusted])
            if found:
                return found
    return _address(meta.get("REMOTE_ADDR") or "") or UNKNOWN


def limit_key(request) -> str:
    """The client as limits count it: its address, an IPv6 one by its /64 (one host often holds a
    whole /64, as django-ratelimit counts them too)."""
    ip = ipaddress.ip_address(client_ip(request))
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address)
    return str(ip)


def ratelimit_key(group, request) -> str:
    """django-ratelimit's key of every per-IP budget (`smsplatform.limits.over_ip_budget`)."""
    return limit_key(request)
