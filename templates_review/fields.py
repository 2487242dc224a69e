"""The parameters of the signature and template calls (`smsplatform.fields` has the generic ones)."""
from smsplatform.errors import Errors, LeanCloudError
from smsplatform.fields import Param

from .models import ReviewStatus, TemplateCategory


class JsonFlag(Param):
    """A JSON boolean, false when absent; anything else is code 1."""

    def to_internal_value(self, data):
        if data is None:
            return False
        if isinstance(data, bool):
            return data
        raise LeanCloudError(Errors.BAD_REQUEST, f"{self.field_name} must be true or false.")

    def openapi_schema(self) -> dict:
        return {"type": "boolean", "default": False}


class CategoryField(Param):
    """A template's category, `verification` or `notification` (the service says so when it is neither)."""

    def to_internal_value(self, data):
        return data

    def openapi_schema(self) -> dict:
        return {"type": "string", "enum": list(TemplateCategory.values)}


class BodyField(Param):
    """A template's Handlebars body, as it came (a string; the service checks it)."""

    def to_internal_value(self, data):
        return data if isinstance(data, str) else None

    def openapi_schema(self) -> dict:
        return {"type": "string", "example": "您的验证码是{{code}}，{{ttl}}分钟内有效。"}


class StatusField(Param):
    """A review status to list only what has it (absent: everything)."""

    def to_internal_value(self, data):
        if data in (None, ""):
            return None
        if data not in ReviewStatus.values:
            raise LeanCloudError(Errors.BAD_REQUEST, "status must be 'pending', 'approved' or 'rejected'.")
        return data

    def openapi_schema(self) -> dict:
        return {"type": "string", "enum": list(ReviewStatus.values)}
