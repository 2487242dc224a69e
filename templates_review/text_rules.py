"""What the text of an SMS may hold: one set of rules for every value a caller puts into it.

The contract's ceiling: at most MAX_TEXT_CHARACTERS characters, signature included, checked on the
finished text (`check_ceiling`) before anything is stored or counted.

A caller-supplied value (`name`, `op`, a template variable) goes into a text signed with the app's
own signature, so it may not forge one: no `【` `】`, no links (a scheme, `www.`, a host name with a
well-known top-level domain, an address with a path, whether typed in full-width or ASCII), and no
control or invisible characters (C0, DEL, C1, U+2028/2029, bidi embeddings, overrides, isolates
and marks, zero-width characters, the BOM, tag characters, lone surrogates), which reorder or hide
what the phone shows. `caller_value` refuses such a value with code 1 and says which rule it broke.
"""
import re
import unicodedata

from smsplatform.errors import Errors, LeanCloudError

# The contract: a text, signature included, is at most 400 characters.
MAX_TEXT_CHARACTERS = 400
# `name` and `op` are short labels (an app's or a shop's name, an operation such as 付款).
MAX_LABEL_CHARACTERS = 32

BRACKETS = "【】"

# Characters that reorder or hide text on a phone, or are not text at all.
_INVISIBLE = re.compile(
    "["
    "\x00-\x1f\x7f-\x9f"            # C0 (tab and newline included), DEL, C1
    "\u00ad\u061c\u180e"            # soft hyphen, Arabic letter mark, Mongolian vowel separator
    "\u200b-\u200f"                 # zero-width space, non-joiner, joiner; LRM, RLM
    "\u2028-\u202e"                 # line and paragraph separators; LRE, RLE, PDF, LRO, RLO
    "\u2060-\u206f"                 # word joiner, invisible operators; LRI, RLI, FSI, PDI; deprecated formats
    "\ufeff\ufff9-\ufffb"           # BOM (zero-width no-break space), interlinear annotations
    "\ud800-\udfff"                 # lone surrogates (JSON can carry them; no carrier can)
    "\U000e0000-\U000e007f"         # tag characters
    "]"
)

# Well-known top-level domains, short-link ones included (t.cn, bit.ly, goo.gl, is.gd, ...).
_TOP_LEVEL_DOMAINS = (
    "com|net|org|info|biz|name|pro|mobi|app|dev|page|site|online|shop|store|club|link|live|fun|icu|cyou"
    "|top|xyz|vip|wang|xin|ren|kim|ink|red|pub|work|tech|cloud|art|asia|tel|today|life|world|run|group"
    "|cn|hk|mo|tw|jp|kr|sg|my|th|vn|ph|id|in|us|uk|de|fr|ru|eu|au|nz|ca|br|es|it|nl|se|ch"
    "|ly|gl|to|gd|im|la|ws|cc|tv|me|co|io|ai|so|sh|fm|am|be|ms|st|gg|ee|li|lc|nu|pw|su"
)
_DOT = r"[.。．｡]"
_LINK = re.compile(
    r"[a-z][a-z0-9+.\-]*://"                                                # any scheme: http://, weixin://
    rf"|(?<![a-z0-9\-])www\d{{0,3}}{_DOT}"                                  # www.
    rf"|(?<![a-z0-9\-])[a-z0-9\-]+(?:{_DOT}[a-z0-9\-]+)*{_DOT}(?:{_TOP_LEVEL_DOMAINS})(?![a-z0-9\-])"
    r"|(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?::\d+|/)",                          # an address with a port or a path
    re.IGNORECASE,
)


def has_link(text: str) -> bool:
    """Whether `text` holds something a phone would show as a link, typed in ASCII or full-width."""
    return bool(_LINK.search(unicodedata.normalize("NFKC", text)))


def has_invisible(text: str) -> bool:
    return bool(_INVISIBLE.search(text))


def value_refusal(value: str) -> str | None:
    """Why `value` may not go into a text (the end of a sentence: "may not hold ..."), or None."""
    if any(bracket in value for bracket in BRACKETS):
        return "【 or 】"
    if has_invisible(value):
        return "control or invisible characters"
    if has_link(value):
        return "links"
    return None


def caller_value(label: str, value: str, *, max_characters: int = MAX_TEXT_CHARACTERS) -> str:
    """`value` (given by the caller as `label`), if it may go into a text; else code 1 saying why."""
    if len(value) > max_characters:
        raise LeanCloudError(Errors.BAD_REQUEST, f"{label} may have at most {max_characters} characters.")
    refused = value_refusal(value)
    if refused:
        raise LeanCloudError(Errors.BAD_REQUEST, f"{label} may not hold {refused}.")
    return value


def check_ceiling(text: str) -> str:
    """`text` (signed), if it is within the contract's ceiling; else code 1 with its length."""
    if len(text) > MAX_TEXT_CHARACTERS:
        raise LeanCloudError(
            Errors.BAD_REQUEST,
            f"The SMS would be {len(text)} characters long, signature included: at most {MAX_TEXT_CHARACTERS}.",
        )
    return text


# What these rules answer, for the schema of a call that takes caller values.
REFUSALS = (
    (Errors.BAD_REQUEST, f"name (or op, or a template variable) may have at most {MAX_LABEL_CHARACTERS} characters."),
    (Errors.BAD_REQUEST, "name (or op, or a template variable) may not hold 【 or 】."),
    (Errors.BAD_REQUEST, "name (or op, or a template variable) may not hold control or invisible characters."),
    (Errors.BAD_REQUEST, "name (or op, or a template variable) may not hold links."),
    (Errors.BAD_REQUEST, f"The SMS would be 401 characters long, signature included: at most {MAX_TEXT_CHARACTERS}."),
)
