"""The one place where a message's text is made: LeanCloud's default verification text, reviewed
Handlebars templates (verification or notification), and voice codes.

Every text is made with the code in a slot, so one rendering gives both texts a caller needs:
`ComposedText.text`, the clear text, for the carrier only, and `ComposedText.masked`, the same text
with the code as `******`, for everything that keeps or shows a text (send records, logs, the admin).

Every SMS is signed with an approved signature: the one `sign` names (templates only, as LeanCloud
had it), else the template's own, else the app's default. Every caller-supplied value that goes into
a text (`name`, `op`, a template's variables) obeys `text_rules`, and every text the ceiling, before
anything is stored or counted.
"""
import math
from dataclasses import dataclass, field

from smsplatform.errors import Errors, LeanCloudError

from . import selectors
from .checks import PLATFORM_VARIABLES
from .handlebars import MissingVariable, compile_body
from .models import TemplateCategory
from .text_rules import MAX_LABEL_CHARACTERS, caller_value, check_ceiling, has_link

DEFAULT_VERIFICATION_TEXT = "您正在使用{name}服务进行{op}操作，您的验证码是：{code}，请在{ttl}分钟内完成验证。"
DEFAULT_VERIFICATION_TEXT_WITHOUT_OP = "您正在使用{name}服务，您的验证码是：{code}，请在{ttl}分钟内完成验证。"

CODE_MASK = "******"
# Where the code goes while a text is made: a character that no caller value and no template body
# may hold (text_rules refuses control characters), so it stands for the code and nothing else.
_CODE_SLOT = "\x00"

NO_DEFAULT_SIGNATURE = "Invalid SMS signature: the app has no approved default signature."
UNKNOWN_SIGNATURE = "Invalid SMS signature: the app has no such signature."
VOICE_WITHOUT_TEMPLATE = "A voice code speaks its digits only: it takes no template."
LINK_IN_TEXT = "The SMS text may not hold links."

# What making a text may answer, for the schemas of the calls that send (the text rules' own, in
# `text_rules.REFUSALS`, come with `name`, `op` and template variables).
REFUSALS = (
    (Errors.INVALID_SIGNATURE, NO_DEFAULT_SIGNATURE),
)
TEMPLATE_REFUSALS = (
    (Errors.INVALID_SIGNATURE, UNKNOWN_SIGNATURE), Errors.SIGNATURE_NOT_VERIFIED,
    Errors.TEMPLATE_NOT_FOUND, Errors.TEMPLATE_NOT_VERIFIED,
    (Errors.TEMPLATE_RENDER_FAILED, "Fails to render SMS template: date is missing."),
    (Errors.TEMPLATE_RENDER_FAILED, "Fails to render SMS template: date must be a string or a number."),
    (Errors.BAD_REQUEST, VOICE_WITHOUT_TEMPLATE), (Errors.BAD_REQUEST, LINK_IN_TEXT),
)


@dataclass(frozen=True)
class ComposedText:
    text: str = field(repr=False)  # the clear text: for the carrier, and nothing else
    masked: str                    # the same with the code as ******: what may be kept, logged or shown
    signature: str
    template: str = ""
    category: str = TemplateCategory.VERIFICATION
    code: str = field(default="", repr=False)  # the code in clear, for carriers that need it as a variable


def signed(text: str, signature: str) -> str:
    return f"【{signature}】{text}"


def _composed(shape: str, code: str, **fields) -> ComposedText:
    text = check_ceiling(shape.replace(_CODE_SLOT, code))
    return ComposedText(text=text, masked=shape.replace(_CODE_SLOT, CODE_MASK), code=code, **fields)


def default_signature(app) -> str:
    """The app's approved default signature (600 if it has none)."""
    default = selectors.signatures_of(app).default
    if default is None:
        raise LeanCloudError(Errors.INVALID_SIGNATURE, NO_DEFAULT_SIGNATURE)
    return default


def approved_signature(app, text: str) -> str:
    """`text`, if it is one of the app's approved signatures: 600 when the app has no such
    signature, 605 (`SMS sign not verified`) while it is not approved."""
    signatures = selectors.signatures_of(app)
    if text not in signatures.known:
        raise LeanCloudError(Errors.INVALID_SIGNATURE, UNKNOWN_SIGNATURE)
    if text not in signatures.approved:
        raise LeanCloudError(Errors.SIGNATURE_NOT_VERIFIED)
    return text


def compose_sms(*, app, code: str, ttl_minutes: int, name: str | None, op: str | None,
                template: str | None, sign: str | None, variables: dict) -> ComposedText:
    """The signed text of an SMS: a reviewed template's when `template` names one, else LeanCloud's
    default verification text (`name` and `op` fill it; `sign` and the variables are for templates)."""
    if op is not None:
        op = caller_value("op", op, max_characters=MAX_LABEL_CHARACTERS)
    if template:
        return _compose_template(app=app, code=code, ttl_minutes=ttl_minutes, op=op, name=template, sign=sign,
                                 variables=variables)
    if name is not None:
        name = caller_value("name", name, max_characters=MAX_LABEL_CHARACTERS)
    values = {"name": name or app.name, "op": op, "code": _CODE_SLOT, "ttl": ttl_minutes}
    pattern = DEFAULT_VERIFICATION_TEXT if op else DEFAULT_VERIFICATION_TEXT_WITHOUT_OP
    signature = default_signature(app)
    return _composed(signed(pattern.format(**values), signature), code, signature=signature)


def _variable_text(key: str, value) -> str:
    """A caller's template variable as the text it renders as (606 unless a string or a number)."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    elif isinstance(value, float) and math.isfinite(value):
        text = repr(value)
    else:
        raise LeanCloudError(Errors.TEMPLATE_RENDER_FAILED,
                             f"Fails to render SMS template: {key} must be a string or a number.")
    return caller_value(key, text)


def _compose_template(*, app, code: str, ttl_minutes: int, op: str | None, name: str, sign: str | None,
                      variables: dict) -> ComposedText:
    template = selectors.template_named(app, name)
    if template is None:
        raise LeanCloudError(Errors.TEMPLATE_NOT_FOUND)
    if template.body is None:
        raise LeanCloudError(Errors.TEMPLATE_NOT_VERIFIED)
    if sign:
        signature = approved_signature(app, sign)
    elif template.signature:
        signature = approved_signature(app, template.signature)
    else:
        signature = default_signature(app)
    compiled = compile_body(template.body)
    given = {**variables, "op": op} if op is not None else variables
    values = {}
    for key in compiled.variables - PLATFORM_VARIABLES:
        if given.get(key) is None:
            raise LeanCloudError(Errors.TEMPLATE_RENDER_FAILED, f"Fails to render SMS template: {key} is missing.")
        values[key] = _variable_text(key, given[key])
    verification = template.category == TemplateCategory.VERIFICATION
    values.update(name=app.name, ttl=str(ttl_minutes), code=_CODE_SLOT if verification else "")
    try:
        body = compiled.render(values)
    except MissingVariable as missing:  # every variable is filled above: a body that changed its mind
        raise LeanCloudError(Errors.TEMPLATE_RENDER_FAILED, f"Fails to render SMS template: {missing.name} is missing.")
    if has_link(body):  # pieces that make a link only together ("t." + "cn/x")
        raise LeanCloudError(Errors.BAD_REQUEST, LINK_IN_TEXT)
    return _composed(signed(body, signature), code if verification else "", signature=signature,
                     template=template.name, category=template.category)


def compose_voice_code(*, app, code: str) -> ComposedText:
    """A voice code speaks the digits only: nothing else may be added. The app's default signature
    still counts its limits (per number and signature), as for its SMS."""
    return ComposedText(text=" ".join(code), masked=" ".join(CODE_MASK), signature=default_signature(app), code=code)


def sample_values(variables, *, app, ttl_minutes: int = 10) -> dict[str, str]:
    """Values that show where each variable goes: the platform's own, and `[date]` for `date`."""
    values = {key: f"[{key}]" for key in variables}
    values.update(code="123456", ttl=str(ttl_minutes), name=app.name)
    return values


def preview(*, app, body: str, category: str, signature: str | None) -> str:
    """A template's text on sample values, signed (its signature, or the app's default, or 【?】):
    what the review queue shows. TemplateError when the body does not compile."""
    compiled = compile_body(body)
    values = sample_values(compiled.variables, app=app)
    if category != TemplateCategory.VERIFICATION:
        values["code"] = ""
    return signed(compiled.render(values), signature or selectors.signatures_of(app).default or "?")
