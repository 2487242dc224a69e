"""Signatures and templates over REST, for the app's developer (master key only): list, create or
revise, show, delete. What is created or revised waits for the operators' review."""
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from smsplatform import fields
from smsplatform.api import LeanCloudView
from smsplatform.errors import Errors, LeanCloudError
from smsplatform.formats import iso_date
from smsplatform.schema import ISO_DATE, EmptySerializer, answers, json_body

from . import selectors, services
from .fields import BodyField, CategoryField, JsonFlag, StatusField
from .models import Review, ReviewStatus, TemplateCategory

TAGS = ["Signatures and templates"]
DATE = {"type": "string", "pattern": ISO_DATE, "example": "2024-01-02T03:04:05.678Z"}
STATUS = {"type": "string", "enum": list(ReviewStatus.values)}
CATEGORY = {"type": "string", "enum": list(TemplateCategory.values)}
SIGNATURE_TEXT = {"type": "string", "description": "Its signature's text; empty: the request's `sign`, else the app's "
                                                   "default."}
TEXT_IN_PATH = OpenApiParameter("text", str, OpenApiParameter.PATH, description="The signature, without 【】.")
NAME_IN_PATH = OpenApiParameter("name", str, OpenApiParameter.PATH, description="The template's name.")


class SignatureSerializer(serializers.Serializer):
    """A signature: `default` signs every message that names no other."""

    additional_properties = False

    signature = fields.Passthrough(schema={"type": "string", "example": "天东商城"}, required=True)
    status = fields.Passthrough(schema=STATUS, required=True)
    reason = fields.Passthrough(schema={"type": "string", "description": "Why it was rejected; else empty."},
                                required=True)
    default = fields.Passthrough(schema={"type": "boolean"}, required=True)
    createdAt = fields.Passthrough(schema=DATE, required=True)
    updatedAt = fields.Passthrough(schema=DATE, required=True)


class SignatureListSerializer(serializers.Serializer):
    additional_properties = False

    results = SignatureSerializer(many=True)


class RevisionSerializer(serializers.Serializer):
    """A template's revision that waits beside its approved body (pending), or was refused (rejected)."""

    additional_properties = False

    category = fields.Passthrough(schema=CATEGORY, required=True)
    body = fields.Passthrough(schema={"type": "string"}, required=True)
    signature = fields.Passthrough(schema=SIGNATURE_TEXT, required=True)
    status = fields.Passthrough(schema={**STATUS, "description": "pending or rejected."}, required=True)
    reason = fields.Passthrough(schema={"type": "string"}, required=True)
    createdAt = fields.Passthrough(schema=DATE, required=True)


class TemplateSerializer(serializers.Serializer):
    """A template: what serves once approved (`status` approved), else what was submitted; a revision
    submitted since its approval is `revision`, beside the body that keeps serving."""

    additional_properties = False

    name = fields.Passthrough(schema={"type": "string", "example": "activity"}, required=True)
    category = fields.Passthrough(schema=CATEGORY, required=True)
    body = fields.Passthrough(schema={"type": "string"}, required=True)
    signature = fields.Passthrough(schema=SIGNATURE_TEXT, required=True)
    status = fields.Passthrough(schema=STATUS, required=True)
    reason = fields.Passthrough(schema={"type": "string", "description": "Why it was rejected; else empty."},
                                required=True)
    createdAt = fields.Passthrough(schema=DATE, required=True)
    updatedAt = fields.Passthrough(schema=DATE, required=True)
    revision = RevisionSerializer(required=False, help_text="Absent when nothing waits beside the approved body.")


class TemplateListSerializer(serializers.Serializer):
    additional_properties = False

    results = TemplateSerializer(many=True)


def _signature_text(signature) -> str:
    return signature.text if signature is not None else ""


def _submission_json(review: Review) -> dict:
    return {"category": review.category, "body": review.body, "signature": _signature_text(review.template_signature),
            "status": review.status, "reason": review.reason}


def template_json(template) -> dict:
    """A template as the API shows it (`template.revision` from `selectors.templates_with_revisions`)."""
    revision = template.revision
    if template.serving:
        shown = {"name": template.name, "category": template.category, "body": template.body,
                 "signature": _signature_text(template.signature), "status": ReviewStatus.APPROVED.value, "reason": ""}
    else:
        shown = {"name": template.name, **_submission_json(revision)}
    shown.update(createdAt=iso_date(template.created_at), updatedAt=iso_date(template.updated_at))
    if template.serving and revision is not None:
        shown["revision"] = {**_submission_json(revision), "createdAt": iso_date(revision.submitted_at)}
    return shown


class MasterKeyView(LeanCloudView):
    """A call for the app's developer: the master key only (119 with the app key)."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not request.auth.is_master:
            raise LeanCloudError(Errors.OPERATION_FORBIDDEN)


SIGNATURE_REFUSALS = (
    (Errors.INVALID_SIGNATURE, "Invalid SMS signature: A signature has 2 to 20 characters; this one has 1."),
    (Errors.BAD_REQUEST, services.TOO_MANY_SIGNATURES), (Errors.BAD_REQUEST, "default must be true or false."),
)
TEMPLATE_REFUSALS = (
    (Errors.BAD_REQUEST, services.TEMPLATE_NAME_RULE), (Errors.BAD_REQUEST, services.CATEGORY_RULE),
    (Errors.BAD_REQUEST, "The template is refused: A verification template uses {{code}}."),
    (Errors.BAD_REQUEST, services.TOO_MANY_TEMPLATES), (Errors.INSUFFICIENT_BALANCE, services.BALANCE_RULE),
    (Errors.INVALID_SIGNATURE, "Invalid SMS signature: the app has no signature 天东商城."),
)


class ListFilter(fields.Params):
    """What a list shows: everything, or only what has `status` (a template's: `approved` once one of
    its bodies is; else its submission's)."""

    status = StatusField(help_text="Only these; absent: all.")


BAD_STATUS = (Errors.BAD_REQUEST, "status must be 'pending', 'approved' or 'rejected'.")


class SignatureListView(MasterKeyView):
    class InputSerializer(fields.Params):
        signature = fields.OptionalText(
            required=True, help_text="Without 【】: 2-20 Chinese characters, letters or digits, not letters only nor "
                                     "digits only (else 600 with the reasons).")
        default = JsonFlag(help_text="Make it the app's default: at once when approved, else once approved.")

    @extend_schema(summary="The app's signatures", tags=TAGS, operation_id="sms_signatures_list",
                   parameters=[ListFilter],
                   responses=answers({200: SignatureListSerializer}, Errors.OPERATION_FORBIDDEN, BAD_STATUS))
    def get(self, request):
        status = ListFilter.parse(self.params(request))["status"]
        signatures = request.auth.app.sms_signatures.order_by("id")
        if status:
            signatures = signatures.filter(status=status)
        return Response({"results": [signature.as_leancloud() for signature in signatures]})

    @extend_schema(
        summary="Submit a signature for review (or again, after a rejection)", tags=TAGS,
        request=json_body(InputSerializer),
        responses=answers({201: SignatureSerializer, 200: SignatureSerializer}, Errors.OPERATION_FORBIDDEN,
                          Errors.MALFORMED_JSON, *SIGNATURE_REFUSALS),
    )
    def post(self, request):
        params = self.InputSerializer.parse(self.params(request))
        signature, created = services.submit_signature(app=request.auth.app, text=params["signature"],
                                                       make_default=params["default"])
        return Response(signature.as_leancloud(), status=201 if created else 200)


class SignatureView(MasterKeyView):
    @extend_schema(summary="One signature", tags=TAGS, parameters=[TEXT_IN_PATH], operation_id="sms_signature_retrieve",
                   responses=answers({200: SignatureSerializer}, Errors.OPERATION_FORBIDDEN,
                                     (Errors.INVALID_SIGNATURE, "Invalid SMS signature: the app has no signature x.")))
    def get(self, request, text):
        return Response(services.signature_named(app=request.auth.app, text=text).as_leancloud())

    @extend_schema(summary="Delete a signature (not the default, nor one a template uses)", tags=TAGS,
                   parameters=[TEXT_IN_PATH],
                   responses=answers({200: EmptySerializer}, Errors.OPERATION_FORBIDDEN,
                                     (Errors.INVALID_SIGNATURE, "Invalid SMS signature: the app has no signature x."),
                                     (Errors.BAD_REQUEST, services.DEFAULT_NOT_DELETED),
                                     (Errors.BAD_REQUEST, "The signature x signs the template(s) a: change them first.")))
    def delete(self, request, text):
        services.delete_signature(app=request.auth.app, text=text)
        return Response({})


class TemplateListView(MasterKeyView):
    class InputSerializer(fields.Params):
        name = fields.OptionalText(required=True, help_text=services.TEMPLATE_NAME_RULE)
        category = CategoryField(required=True)
        body = BodyField(required=True, help_text=(
            "Handlebars with plain variables only. `{{code}}`, `{{ttl}}` and `{{name}}` (the app's name) are "
            "filled by the platform; a verification template uses `{{code}}`, a notification one does not. No links, "
            "no 【】, no marketing words."))
        signature = fields.OptionalText(help_text="One of the app's signatures; absent: the app's default.")

    @extend_schema(summary="The app's templates", tags=TAGS, operation_id="sms_templates_list",
                   parameters=[ListFilter],
                   responses=answers({200: TemplateListSerializer}, Errors.OPERATION_FORBIDDEN, BAD_STATUS))
    def get(self, request):
        status = ListFilter.parse(self.params(request))["status"]
        shown = [template_json(t) for t in selectors.templates_with_revisions(request.auth.app)]
        return Response({"results": [t for t in shown if status in (None, t["status"])]})

    @extend_schema(
        summary="Submit a template, or a revision of one, for review", tags=TAGS, request=json_body(InputSerializer),
        description="A revision of an approved template waits beside it (`revision`); the approved body keeps "
                    "serving until the revision is approved. Creating or changing a template needs at least 200 of "
                    "non-gift balance on the developer account (160); an app has at most 10 templates.",
        responses=answers({201: TemplateSerializer, 200: TemplateSerializer}, Errors.OPERATION_FORBIDDEN,
                          Errors.MALFORMED_JSON, *TEMPLATE_REFUSALS),
    )
    def post(self, request):
        app = request.auth.app
        params = self.InputSerializer.parse(self.params(request))
        template, created = services.submit_template(
            app=app, name=params["name"], category=params["category"], body=params["body"],
            signature_text=params["signature"],
        )
        [shown] = selectors.templates_with_revisions(app, name=template.name)
        return Response(template_json(shown), status=201 if created else 200)


class TemplateView(MasterKeyView):
    @extend_schema(summary="One template", tags=TAGS, parameters=[NAME_IN_PATH], operation_id="sms_template_retrieve",
                   responses=answers({200: TemplateSerializer}, Errors.OPERATION_FORBIDDEN, Errors.TEMPLATE_NOT_FOUND))
    def get(self, request, name):
        found = selectors.templates_with_revisions(request.auth.app, name=name)
        if not found:
            raise LeanCloudError(Errors.TEMPLATE_NOT_FOUND)
        return Response(template_json(found[0]))

    @extend_schema(summary="Delete a template", tags=TAGS, parameters=[NAME_IN_PATH],
                   responses=answers({200: EmptySerializer}, Errors.OPERATION_FORBIDDEN, Errors.TEMPLATE_NOT_FOUND))
    def delete(self, request, name):
        services.delete_template(app=request.auth.app, name=name)
        return Response({})
