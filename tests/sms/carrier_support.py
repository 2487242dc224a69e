"""Helpers of the carrier tests: carrier and route rows, accepted messages with sealed texts."""
from sms.models import Carrier, Message, Route, RouteCarrier
from sms.send_records import seal_for_delivery
from tests.support import unique_phone


def make_carrier(name: str, kind: str = "fake", *, username: str = "", secret: str = "", enabled: bool = True,
                 **params) -> Carrier:
    carrier = Carrier(name=name, kind=kind, username=username, params={k: str(v) for k, v in params.items()},
                      enabled=enabled)
    carrier.secret = secret
    carrier.full_clean()
    carrier.save()
    return carrier


def make_route(carriers, *, country_code: str = "*", channel: str = "sms", strategy: str = "ordered",
               position: int = 0, enabled: bool = True) -> Route:
    route = Route.objects.create(country_code=country_code, channel=channel, strategy=strategy, position=position,
                                 enabled=enabled)
    for position, carrier in enumerate(carriers):
        RouteCarrier.objects.create(route=route, carrier=carrier, position=position)
    return route


def accepted(app, *, phone: str | None = None, text: str = "【X】您的验证码是：123456", masked: str | None = None,
             code: str = "123456", channel: str = "sms") -> Message:
    return Message.objects.create(
        app=app, phone=phone or unique_phone(), channel=channel, text=masked or text.replace(code, "******"),
        sealed=seal_for_delivery(text=text, code=code),
    )
