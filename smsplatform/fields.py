"""Declared inputs: the parameters of one API call, as one serializer that parses, validates and
documents them (HackSoft's nested `InputSerializer`).

The fields read a parameter exactly the way the views always did by hand (`smsplatform.params`,
`smsplatform.phone`), and so answer exactly as before:
- a bad value raises `LeanCloudError` itself (127, 212, code 1 with its text, ...), which is no DRF
  `ValidationError` to collect: it leaves `parse` (or `is_valid()`) at once, for the project's
  exception handler. The fields are read in the order they are declared, so the first bad one
  answers, as before;
- an absent parameter is not skipped: it reaches the field as None, which says what that means
  (a default, None, or 212), so every declared name is in the validated data.

Each field also says what it is in the OpenAPI schema (`openapi_schema`); the schema is made only
when the schema is generated (`smsplatform.schema`), never per request.
"""
from rest_framework import serializers
from rest_framework.fields import empty

from .params import non_empty_string, optional_text, whole_number
from .phone import phone_from_param


class Params(serializers.Serializer):
    """The input of one call: declare the fields in the order the call reads them.

    `additional_properties`: the OpenAPI schema of the keys the call takes beyond the declared ones
    (None: other keys are ignored and not documented).

    Lean, for the hot path: `parse` reads each field in order, through the serializer's
    `validate_<name>` when it has one, then `validate` (DRF's steps, without its per-field error
    bookkeeping: a field raises LeanCloudError, there is nothing to collect), and the fields are
    copied and bound once per class, not for every call as DRF does (that copy alone cost more than
    all the parsing). So a field keeps no state of a call and reads no context; the serializer's own
    methods may, as each call has its own serializer. `is_valid()` works as in DRF.
    """

    additional_properties = None

    @classmethod
    def parse(cls, data: dict, **context) -> dict:
        """The validated parameters of `data` (a LeanCloudError for the first bad one)."""
        serializer = cls(context=context)
        return serializer.validate(serializer.to_internal_value(data))

    def to_internal_value(self, data):
        values = {}
        for name, field, hook in type(self)._steps():
            value = field.run_validation(data.get(name, empty))
            values[name] = value if hook is None else getattr(self, hook)(value)
        return values

    @property
    def fields(self):
        return type(self)._bound()[0]

    @classmethod
    def _steps(cls) -> tuple:
        return cls._bound()[1]

    @classmethod
    def _bound(cls) -> tuple:
        """(DRF's BindingDict of the fields, ((name, field, its validate_<name> or None), ...)), made once."""
        bound = cls.__dict__.get("_bound_fields")
        if bound is None:
            fields = serializers.Serializer.fields.func(cls())  # DRF's own: the declared fields, copied and bound
            assert all(isinstance(field, Param) for field in fields.values()), f"{cls.__qualname__}: not a Param"
            steps = tuple((name, field, f"validate_{name}" if hasattr(cls, f"validate_{name}") else None)
                          for name, field in fields.items())
            bound = cls._bound_fields = (fields, steps)
        return bound


class Param(serializers.Field):
    """A parameter read the way `smsplatform.params` reads it: absent, null and any JSON value all
    go to `to_internal_value` (absent as None), which raises LeanCloudError for a bad one."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def run_validation(self, data=empty):
        return self.to_internal_value(None if data is empty else data)

    def to_representation(self, value):
        return value

    def openapi_schema(self) -> dict:
        """What the field takes, as an OpenAPI schema (a `help_text` adds its description)."""
        raise NotImplementedError


class PhoneField(Param):
    """A phone number, into E.164 (`phone_from_param`): invalid is 127; missing (absent or "") is 212
    when required, None otherwise.

    `deferred`: hand over the value as it came (the view reads it with `parse` when it needs it,
    e.g. `/login` reads the number only for a login by number).
    """

    def __init__(self, *, deferred: bool = False, **kwargs):
        self.deferred = deferred
        super().__init__(**kwargs)

    def parse(self, raw) -> str | None:
        if not self.required and raw in (None, ""):
            return None
        return phone_from_param(raw)

    def to_internal_value(self, data):
        return data if self.deferred else self.parse(data)

    def openapi_schema(self) -> dict:
        said = "E.164 (`+8618612345678`); a number without `+` is Chinese. Invalid: 127"
        return {"type": "string", "example": "+8618612345678",
                "description": said + ("; missing: 212." if self.required else ".")}


class OptionalText(Param):
    """Text, or None when absent or empty; a number is taken as its text (`optional_text`)."""

    def to_internal_value(self, data):
        return optional_text(data)

    def openapi_schema(self) -> dict:
        return {"type": "string"}


class NonEmptyString(Param):
    """A non-empty string, or None: a number is not one here (`non_empty_string`: passwords)."""

    def to_internal_value(self, data):
        return non_empty_string(data)

    def openapi_schema(self) -> dict:
        return {"type": "string", "minLength": 1}


class WholeNumber(Param):
    """A whole number from `low` to `high`, as a number or its text, `default` when absent
    (`whole_number`: out of range is code 1, `<name> must be a whole number from <low> to <high>.`)."""

    def __init__(self, *, low: int, high: int, default: int, **kwargs):
        self.low, self.high, self.default_value = low, high, default
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        return whole_number(data, name=self.field_name, low=self.low, high=self.high, default=self.default_value)

    def openapi_schema(self) -> dict:
        return {"type": "integer", "minimum": self.low, "maximum": self.high, "default": self.default_value}


class Flag(Param):
    """A query flag: on only when it is exactly `true` (what the SDKs send)."""

    def to_internal_value(self, data):
        return data == "true"

    def openapi_schema(self) -> dict:
        return {"type": "string", "enum": ["true", "false"]}


class Passthrough(Param):
    """A value handed over as it came, for the service to read (e.g. a `_User` body's built-in
    fields, which take LeanCloud's operations); declared to document it."""

    def __init__(self, *, schema: dict, **kwargs):
        self.schema = schema
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        return data

    def openapi_schema(self) -> dict:
        return dict(self.schema)
