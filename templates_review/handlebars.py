"""Handlebars bodies (pybars3), in the small safe part of the language an SMS needs.

A body holds text, comments and plain variables: `{{date}}` (or `{{{date}}}`; nothing is
HTML-escaped, an SMS is not HTML). Blocks, helpers, partials, paths (`a.b`, `../x`, `this`), data
variables (`@index`) and arguments are refused at compile time, so rendering never calls a helper
nor reads an attribute or a file, and every variable a body uses is known before it renders: a
missing one is a failure (`MissingVariable`), never an empty string.

`compile_body` compiles a body once per process (cached by its text, which is its version: a
revision is another text) with pybars3's compiler, whose parse tree is checked first.
"""
import re
import sys
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from pybars import Compiler, PybarsError
from pybars._compiler import prepare as pybars_prepare

# A variable's name: an identifier, and not one of pybars' built-in helpers (a body naming one would
# call it) nor a data variable.
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")
HELPER_NAMES = frozenset({"if", "unless", "each", "with", "log", "lookup", "helperMissing", "blockHelperMissing",
                          "this", "else"})

_NODE_NAMES = {
    "block": "a block ({{#...}})",
    "invertedblock": "an inverted block ({{^...}})",
    "partial": "a partial ({{> ...}})",
    "rawblock": "a raw block ({{{{...}}}})",
}

# pybars' code builder is one object shared by every Compiler: one compilation at a time.
_compiling = threading.Lock()


class TemplateError(ValueError):
    """A body that is not a template this service renders; the message says why."""


class MissingVariable(LookupError):
    def __init__(self, name: str):
        self.name = name
        super().__init__(name)


class _Values:
    """The values a body renders with: looking up anything else raises, so pybars can neither fall
    back to an empty string nor to an attribute (its `pick` tries `getattr` on a KeyError)."""

    __slots__ = ("values",)

    def __init__(self, values: dict[str, str]):
        self.values = values

    def __getitem__(self, name):
        try:
            return self.values[name]
        except KeyError:
            raise MissingVariable(name) from None

    def __len__(self):
        return len(self.values)

    def get(self, name, default=None):
        return self[name]


def _plain(value, should_escape):
    """pybars' `prepare`, never HTML-escaping: `{{x}}` and `{{{x}}}` both write the value as it is."""
    return pybars_prepare(value, False)


@dataclass(frozen=True)
class CompiledBody:
    body: str
    variables: frozenset[str]   # every variable the body uses
    literal: str                # the body without its variables and comments: what its author wrote
    _render: Callable

    def render(self, values: dict[str, str]) -> str:
        """The body with `values` (text) in its variables; MissingVariable if one has none."""
        missing = sorted(self.variables - values.keys())
        if missing:
            raise MissingVariable(missing[0])
        return str(self._render(_Values(values)))


def _parse_tree(body: str) -> list:
    """pybars' own parse tree of `body` (a TemplateError where pybars cannot parse it)."""
    source = Compiler().whitespace_control(body)
    parser = Compiler._handlebars(source)
    try:
        tree, _ = parser.apply("template")
    except Exception as error:  # pymeta's own failures
        raise TemplateError(f"It does not compile: {error}.") from None
    # Where the parse stopped. (pybars checks the position of the furthest failure instead, so it
    # compiles `a {{ b` as "a ", silently dropping the rest.)
    position = parser.input.position
    if position < len(source):
        raise TemplateError(f"It does not compile: Handlebars syntax error near {source[position:position + 20]!r}.")
    return tree


def _variable(node) -> str:
    """The name of a plain variable node (`expand` / `escapedexpand`), or a TemplateError."""
    _, path, arguments = node
    segments = path[1] if path[0] == "path" else None
    if arguments or not segments or len(segments) != 1 or not isinstance(segments[0], str):
        raise TemplateError("Only plain variables such as {{date}} are allowed: no helpers, arguments or paths.")
    name = segments[0]
    if not VARIABLE_NAME.fullmatch(name) or name in HELPER_NAMES:
        raise TemplateError(f"{{{{{name}}}}} is not a variable name: use letters, digits and _ (at most 32).")
    return name


def analyse(body: str) -> tuple[frozenset[str], str]:
    """(the variables `body` uses, its literal text), or a TemplateError saying what is not allowed."""
    variables, literal = set(), []
    for node in _parse_tree(body)[1:]:
        kind = node[0]
        if kind in ("literal", "whitespace", "newline"):
            literal.append(node[1])
        elif kind in ("expand", "escapedexpand"):
            variables.add(_variable(node))
            literal.append(" ")
        elif kind == "comment":
            continue
        else:
            described = _NODE_NAMES.get(kind, kind)
            raise TemplateError(f"Only text and plain variables are allowed: the body holds {described}.")
    return frozenset(variables), "".join(literal)


@lru_cache(maxsize=4096)
def compile_body(body: str) -> CompiledBody:
    """`body` compiled, once per process; a TemplateError says why it cannot be."""
    if not isinstance(body, str) or not body.strip():
        raise TemplateError("The body is empty.")
    variables, literal = analyse(body)
    try:
        with _compiling:
            render = Compiler().compile(body)
    except PybarsError as error:  # the checked tree always compiles; kept as pybars' own word
        raise TemplateError(f"It does not compile: {error}.") from None
    # The module pybars made for this body is its own: its renderer writes values unescaped, and it
    # lives as long as the renderer does (pybars also registers it in sys.modules, for ever).
    render.__globals__["prepare"] = _plain
    sys.modules.pop(render.__globals__["__name__"], None)
    return CompiledBody(body=body, variables=variables, literal=literal, _render=render)
