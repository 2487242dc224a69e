"""The automatic checks of what is submitted for review: a signature's rules and a template's body.

Both refuse a submission that fails them (each failure with its reason), and the review queue shows
them again, run at the time of the review, beside a template's preview.
"""
import re
from dataclasses import dataclass

from django.conf import settings

from . import text_rules
from .handlebars import TemplateError, compile_body
from .models import TemplateCategory

SIGNATURE_MIN_CHARACTERS = 2
SIGNATURE_MAX_CHARACTERS = 20
# Chinese characters: the CJK unified ideographs, extension A, and the compatibility ideographs.
_CHINESE = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SIGNATURE_CHARACTER = re.compile(f"[{_CHINESE}A-Za-z0-9]")
_NOT_SIGNATURE_CHARACTER = re.compile(f"[^{_CHINESE}A-Za-z0-9]")

# The platform fills these in every template; a caller's values cannot replace them.
PLATFORM_VARIABLES = frozenset({"code", "ttl", "name"})
# requestSmsCode's own parameters, never a template variable (`op` is one and fills {{op}}).
CALL_PARAMETERS = frozenset({"mobilePhoneNumber", "smsType", "template", "sign", "validate_token"})


@dataclass(frozen=True)
class Check:
    label: str
    ok: bool
    detail: str = ""


# --- Signatures --------------------------------------------------------------------------------

def signature_problems(text: str) -> list[str]:
    """Why `text` is not a signature (the contract's rules), each in a sentence; [] when it is one."""
    if not isinstance(text, str) or not text:
        return ["A signature is required."]
    problems = []
    if any(bracket in text for bracket in text_rules.BRACKETS):
        problems.append("Give the signature without 【】.")
        text = text.strip("【】")
    if not SIGNATURE_MIN_CHARACTERS <= len(text) <= SIGNATURE_MAX_CHARACTERS:
        problems.append(f"A signature has {SIGNATURE_MIN_CHARACTERS} to {SIGNATURE_MAX_CHARACTERS} characters; "
                        f"this one has {len(text)}.")
    if any(character.isspace() for character in text):
        problems.append("A signature has no spaces.")
    symbols = sorted({c for c in _NOT_SIGNATURE_CHARACTER.findall(text) if not c.isspace() and c not in "【】"})
    if symbols:
        problems.append(f"A signature holds Chinese characters, letters and digits only, no symbols: {''.join(symbols[:10])}")
    kept = "".join(_SIGNATURE_CHARACTER.findall(text))  # what is left once spaces and symbols go
    if re.fullmatch(r"[A-Za-z]+", kept):
        problems.append("A signature may not be letters only.")
    if re.fullmatch(r"[0-9]+", kept):
        problems.append("A signature may not be digits only.")
    return problems


def signature_from_name(name: str) -> str | None:
    """The signature an app's name gives: its Chinese characters, letters and digits (spaces and
    symbols dropped), at most 20; None when that is no signature (too short, letters or digits only)."""
    text = "".join(_SIGNATURE_CHARACTER.findall(name or ""))[:SIGNATURE_MAX_CHARACTERS]
    return text if not signature_problems(text) else None


# --- Templates ---------------------------------------------------------------------------------

def marketing_words_in(text: str) -> list[str]:
    """The words of SMS_TEMPLATE_MARKETING_WORDS that `text` holds (ASCII ones as whole words)."""
    found = []
    lowered = text.lower()
    for word in settings.SMS_TEMPLATE_MARKETING_WORDS:
        word = word.strip().lower()
        if not word:
            continue
        if word.isascii():
            if re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", lowered):
                found.append(word)
        elif word in lowered:
            found.append(word)
    return found


def body_checks(*, category: str, body: str) -> list[Check]:
    """A template body's checks, in the order they are told; the later ones need a body that compiles."""
    try:
        compiled = compile_body(body)
    except TemplateError as error:
        return [Check("It compiles (Handlebars, plain variables only)", False, str(error))]
    checks = [Check("It compiles (Handlebars, plain variables only)", True,
                    "Variables: " + (", ".join(sorted(compiled.variables)) or "none"))]
    uses_code = "code" in compiled.variables
    if category == TemplateCategory.VERIFICATION:
        checks.append(Check("A verification template uses {{code}}", uses_code,
                            "" if uses_code else "Put {{code}} where the code goes."))
    else:
        checks.append(Check("A notification template does not use {{code}}", not uses_code,
                            "Notifications carry no code: use a verification template." if uses_code else ""))
    taken = sorted(compiled.variables & CALL_PARAMETERS)
    checks.append(Check("No variable is a parameter of requestSmsCode", not taken,
                        f"{', '.join(taken)}: requestSmsCode's own parameter(s), never a variable." if taken else ""))
    literal = compiled.literal
    brackets = any(bracket in literal for bracket in text_rules.BRACKETS)
    checks.append(Check("No 【】 (the signature is added, from the template's signature)", not brackets,
                        "Put the signature in the template's signature, not in its body." if brackets else ""))
    invisible = text_rules.has_invisible(literal.replace("\n", ""))
    checks.append(Check("No control or invisible characters (line breaks aside)", not invisible,
                        "The body holds control or invisible characters." if invisible else ""))
    link = text_rules.has_link(literal)
    checks.append(Check("No links (URLs, short links)", not link,
                        "SMS templates may not hold links, download links included." if link else ""))
    words = marketing_words_in(literal)
    checks.append(Check("No marketing words", not words, f"Marketing words: {', '.join(words)}" if words else ""))
    return checks


def failures(checks: list[Check]) -> list[str]:
    return [check.detail or check.label for check in checks if not check.ok]
