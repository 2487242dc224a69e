"""The one place where a message's text is made: the default verification text today, reviewed
Handlebars templates once they exist."""
from dataclasses import dataclass

from smsplatform.errors import Errors, LeanCloudError

from .text_rules import MAX_LABEL_CHARACTERS, caller_value, check_ceiling

DEFAULT_VERIFICATION_TEXT = "您正在使用{name}服务进行{op}操作，您的验证码是：{code}，请在{ttl}分钟内完成验证。"
DEFAULT_VERIFICATION_TEXT_WITHOUT_OP = "您正在使用{name}服务，您的验证码是：{code}，请在{ttl}分钟内完成验证。"


@dataclass(frozen=True)
class ComposedText:
    text: str
    signature: str
    template: str = ""


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
    if name is not None:
        name = caller_value("name", name, max_characters=MAX_LABEL_CHARACTERS)
    if op is not None:
        op = caller_value("op", op, max_characters=MAX_LABEL_CHARACTERS)
    if template:
        raise LeanCloudError(Errors.TEMPLATE_NOT_FOUND)
    values = {"name": name or app.name, "op": op, "code": code, "ttl": ttl_minutes}
    pattern = DEFAULT_VERIFICATION_TEXT if op else DEFAULT_VERIFICATION_TEXT_WITHOUT_OP
    signature = default_signature(app)
    return ComposedText(text=check_ceiling(signed(pattern.format(**values), signature)), signature=signature)


def compose_voice_code(*, app, code: str) -> ComposedText:
    """A voice code speaks the digits only: nothing else may be added."""
    return ComposedText(text=" ".join(code), signature=default_signature(app))
