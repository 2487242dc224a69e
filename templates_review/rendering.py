"""The one place where a message's text is made: the default verification text today, reviewed
Handlebars templates once they exist.

Every text is made twice here, in one place: in clear (for the carrier, on its way there only) and
masked, the code replaced by `CODE_MASK` (what the send record keeps, shows and logs).
"""
from dataclasses import dataclass, field

from smsplatform.errors import Errors, LeanCloudError

DEFAULT_VERIFICATION_TEXT = "您正在使用{name}服务进行{op}操作，您的验证码是：{code}，请在{ttl}分钟内完成验证。"
DEFAULT_VERIFICATION_TEXT_WITHOUT_OP = "您正在使用{name}服务，您的验证码是：{code}，请在{ttl}分钟内完成验证。"


CODE_MASK = "******"


@dataclass(frozen=True)
class ComposedText:
    text: str = field(repr=False)  # the clear text: only for the carrier; never stored in clear, never logged
    signature: str
    template: str = ""
    masked: str = ""  # the text with the code masked: the send record's text ("" -> the text holds no code)
    code: str = field(default="", repr=False)  # the code in clear, for carriers that need it as a variable

    def __post_init__(self):
        if not self.masked:
            object.__setattr__(self, "masked", self.text)


def default_signature(app) -> str:
    return app.sms_signature or app.name


def signed(text: str, signature: str) -> str:
    return f"【{signature}】{text}"


def compose_verification_sms(*, app, code: str, ttl_minutes: int, name: str | None, op: str | None,
                             template: str | None, sign: str | None, variables: dict) -> ComposedText:
    """The signed text of a verification SMS.

    Without `template`, LeanCloud's default text signed with the app's default signature (`sign`
    applies to templates only). Templates are not reviewable yet, so no template exists: 604.
    """
    if template:
        raise LeanCloudError(Errors.TEMPLATE_NOT_FOUND)
    values = {"name": name or app.name, "op": op, "code": code, "ttl": ttl_minutes}
    pattern = DEFAULT_VERIFICATION_TEXT if op else DEFAULT_VERIFICATION_TEXT_WITHOUT_OP
    signature = default_signature(app)
    return ComposedText(
        text=signed(pattern.format(**values), signature), signature=signature, code=code,
        masked=signed(pattern.format(**{**values, "code": CODE_MASK}), signature),
    )


def compose_voice_code(*, app, code: str) -> ComposedText:
    """A voice code speaks the digits only: nothing else may be added. The digits are the code: masked too."""
    return ComposedText(text=" ".join(code), signature=default_signature(app), code=code, masked=CODE_MASK)
