"""LeanCloud's user API (`_User`), its phone flows and sessions: parse, call one service, answer."""
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts import selectors
from accounts.authentication import session_token
from accounts.schema import APP_KEYS, WITH_SESSION
from accounts.services import sessions, users
from sms import codes
from sms.fields import SpendSmsBudgetAfterPhone, TtlField
from smsplatform import fields
from smsplatform.api import LeanCloudView
from smsplatform.errors import Errors, LeanCloudError
from smsplatform.formats import iso_date
from smsplatform.limits import IpBudget, enforce_ip_budget
from smsplatform.schema import ISO_DATE, EmptySerializer, answers, json_body

from . import phone_flows

CHANGE_PHONE_TTL_MINUTES = 6
TAGS = ["Users"]
OBJECT_ID = {"type": "string", "pattern": "^[0-9a-f]{24}$"}
DATE = {"type": "string", "pattern": ISO_DATE, "example": "2024-01-02T03:04:05.678Z"}
ID_IN_PATH = OpenApiParameter("object_id", str, OpenApiParameter.PATH, description="The user's objectId.")
CODE_IN_PATH = OpenApiParameter("code", str, OpenApiParameter.PATH, description="The six digits the SMS gave.")
# What a `_User` body can be refused for (accounts.services.users.assign, save_unique).
BODY_ERRORS = (
    Errors.USERNAME_MISSING, (Errors.BAD_REQUEST, "username may be at most 255 characters."), Errors.PASSWORD_MISSING,
    Errors.INVALID_PHONE, (Errors.BAD_REQUEST, "email must be a string."), Errors.INVALID_EMAIL,
    (Errors.BAD_REQUEST, "The amount of an Increment must be a number."),
    (Errors.BAD_REQUEST, "The result of an Increment is out of range."), (Errors.BAD_REQUEST, "Add needs a list of objects."),
    (Errors.BAD_REQUEST, "Unsupported operation 'Multiply'."), Errors.USERNAME_TAKEN, Errors.EMAIL_TAKEN, Errors.PHONE_TAKEN,
    Errors.INVALID_KEY_NAME, (Errors.OBJECT_TOO_LARGE, "A user's custom fields may take at most 4096 bytes of JSON."),
    Errors.MALFORMED_JSON,
)


# --- What the answers look like (documentation: the views answer with `EndUser.as_leancloud`) ---------

class UserSerializer(serializers.Serializer):
    """An end user as LeanCloud shows it: the built-in fields and every custom field; never the password."""

    additional_properties = {"description": "A custom field."}

    objectId = fields.Passthrough(schema=OBJECT_ID, required=True)
    username = fields.Passthrough(schema={"type": "string"}, required=True)
    mobilePhoneNumber = fields.Passthrough(schema={"type": "string", "description": "E.164; absent when none."})
    mobilePhoneVerified = fields.Passthrough(schema={"type": "boolean"}, required=True)
    email = fields.Passthrough(schema={"type": "string", "description": "Absent when none."})
    emailVerified = fields.Passthrough(schema={"type": "boolean"}, required=True)
    sessionToken = fields.Passthrough(schema={"type": "string", "description": "Only to the user itself, when it logs in."})
    createdAt = fields.Passthrough(schema=DATE, required=True)
    updatedAt = fields.Passthrough(schema=DATE, required=True)


class PublicUserSerializer(serializers.Serializer):
    """An end user as anyone but itself and the master key sees it: no number, email, flag or custom field."""

    additional_properties = False

    objectId = fields.Passthrough(schema=OBJECT_ID, required=True)
    username = fields.Passthrough(schema={"type": "string", "description": "Absent when it is a phone number."})
    createdAt = fields.Passthrough(schema=DATE, required=True)
    updatedAt = fields.Passthrough(schema=DATE, required=True)


class SignedUpSerializer(serializers.Serializer):
    additional_properties = False

    objectId = fields.Passthrough(schema=OBJECT_ID, required=True)
    createdAt = fields.Passthrough(schema=DATE, required=True)
    sessionToken = fields.Passthrough(schema={"type": "string"}, required=True)


class UpdatedSerializer(serializers.Serializer):
    additional_properties = False

    objectId = fields.Passthrough(schema=OBJECT_ID, required=True)
    updatedAt = fields.Passthrough(schema=DATE, required=True)


# --- What the calls take --------------------------------------------------------------------------

class UserBody(fields.Params):
    """A `_User` body: the built-in fields below and any custom field, which takes LeanCloud's
    operations (`{"__op": "Increment" | "Add" | "AddUnique" | "Remove" | "Delete", ...}`).

    The body goes to the service as it came (it reads each built-in field its own way)."""

    additional_properties = {"description": "A custom field, or an operation on it."}

    username = fields.Passthrough(schema={"type": "string", "minLength": 1, "description": "Missing or empty: 200."})
    password = fields.Passthrough(schema={"type": "string", "minLength": 1, "writeOnly": True,
                                          "description": "Missing or empty: 201."})
    email = fields.Passthrough(schema={"type": "string"})
    mobilePhoneNumber = fields.Passthrough(schema={"type": "string", "description": "E.164; invalid: 127."})
    emailVerified = fields.Passthrough(schema={"type": "boolean", "description": "Master key only."})
    mobilePhoneVerified = fields.Passthrough(schema={"type": "boolean", "description": "Master key only."})
    validate_token = fields.OptionalText(help_text="From verifyCaptcha, for the verification SMS a new number gets.")

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        return {"fields": dict(data), "validate_token": values["validate_token"]}


class SendCodeInput(SpendSmsBudgetAfterPhone, fields.Params):
    mobilePhoneNumber = fields.PhoneField(required=True)
    validate_token = fields.OptionalText(help_text="From verifyCaptcha; the app's `force_captcha` needs one.")


def sms_budget(request):
    """Spends the client's SMS budget (429 past it): for calls that may send an SMS."""
    return lambda: enforce_ip_budget(request, IpBudget.SMS)


class UserAPIView(LeanCloudView):
    def session_user(self, request):
        """The caller's end user, or None: a missing, ended or foreign `X-LC-Session` is no one."""
        return selectors.user_by_session_token(app=request.auth.app, token=session_token(request))

    def spend_code_budget(self, request, phone: str | None) -> str | None:
        """Spend the client's budget of calls that check a code (429 past it): with its number,
        RATELIMIT_CODE_PER_IP; without it, the smaller one of such calls, and then the logged-in
        caller's number is returned, which the code is checked against first
        (`codes.verify_code_without_number`)."""
        if phone is not None:
            enforce_ip_budget(request, IpBudget.CODE)
            return None
        enforce_ip_budget(request, IpBudget.CODE_WITHOUT_NUMBER)
        caller = self.session_user(request)
        return (caller.mobile_phone_number or None) if caller else None

    def require_session_user(self, request):
        user = self.session_user(request)
        if user is None:
            raise LeanCloudError(Errors.SESSION_REQUIRED)
        return user

    def target(self, request, object_id):
        user = selectors.user_by_object_id(app=request.auth.app, object_id=object_id)
        if user is None:
            raise LeanCloudError(Errors.USER_NOT_FOUND)
        return user

    def is_caller(self, request, user) -> bool:
        caller = self.session_user(request)
        return caller is not None and caller.pk == user.pk

    def require_may_alter(self, request, user) -> None:
        """A user changes only itself; the master key changes anyone."""
        if not request.auth.is_master and not self.is_caller(request, user):
            raise LeanCloudError(Errors.SESSION_REQUIRED)


class SignUpView(UserAPIView):
    """POST /users (JS SDK) and /classes/_User (Python SDK)."""

    InputSerializer = UserBody

    @extend_schema(
        summary="Sign up", tags=TAGS, request=json_body(InputSerializer),
        parameters=[OpenApiParameter("Location", str, OpenApiParameter.HEADER, response=[201], required=True,
                                     description="The new user's URL.")],
        responses=answers({201: SignedUpSerializer}, *BODY_ERRORS, Errors.TOO_MANY_REQUESTS),
    )
    def post(self, request):
        enforce_ip_budget(request, IpBudget.SIGNUP)
        body = self.InputSerializer.parse(request.data)
        user, token = phone_flows.sign_up(
            app=request.auth.app, fields=body["fields"], is_master=request.auth.is_master,
            validate_token=body["validate_token"], before_sending=sms_budget(request),
        )
        location = request.build_absolute_uri(f"{request.path.rstrip('/')}/{user.object_id}")
        return Response(
            {"objectId": user.object_id, "createdAt": iso_date(user.created_at), "sessionToken": token},
            status=201, headers={"Location": location},
        )


LOGIN_ERRORS = (
    Errors.TOO_MANY_REQUESTS, Errors.USERNAME_MISSING, Errors.PASSWORD_MISSING, Errors.PASSWORD_MISMATCH, Errors.USER_NOT_FOUND,
    Errors.PHONE_MISSING, Errors.INVALID_PHONE, Errors.PHONE_USER_NOT_FOUND, Errors.PHONE_NOT_VERIFIED,
    Errors.LOGIN_LOCKED, Errors.OPERATION_FORBIDDEN, Errors.INVALID_SMS_CODE, Errors.MALFORMED_JSON,
)


class LoginView(UserAPIView):
    class InputSerializer(fields.Params):
        """`username`, `email` or `mobilePhoneNumber` with `password`, or `mobilePhoneNumber` with `smsCode`
        (from requestLoginSmsCode)."""

        username = fields.OptionalText()
        email = fields.OptionalText()
        password = fields.OptionalText()  # as /login always read it: a number is taken as its text
        smsCode = fields.OptionalText()
        # Read only for a login by number: a login by username or email ignores it, a bad one too.
        mobilePhoneNumber = fields.PhoneField(deferred=True)

        def validate(self, values):
            login = sessions.LoginRequest(username=values["username"], email=values["email"],
                                          password=values["password"], sms_code=values["smsCode"])
            raw_phone = values["mobilePhoneNumber"]
            return {"login": login, "phone": self.fields["mobilePhoneNumber"].parse(raw_phone) if login.by_phone else None}

    @extend_schema(methods=["GET"], summary="Log in", tags=TAGS, parameters=[InputSerializer],
                   responses=answers({200: UserSerializer}, *LOGIN_ERRORS))
    @extend_schema(methods=["POST"], summary="Log in", tags=TAGS, request=json_body(InputSerializer),
                   responses=answers({200: UserSerializer}, *LOGIN_ERRORS))
    def post(self, request):
        enforce_ip_budget(request, IpBudget.LOGIN)
        params = self.InputSerializer.parse(self.params(request))
        user, token = phone_flows.log_in(app=request.auth.app, login=params["login"], phone=params["phone"])
        return Response(user.as_leancloud(session_token=token))

    get = post


class CurrentUserView(UserAPIView):
    class InputSerializer(fields.Params):
        session_token = fields.OptionalText(help_text="The user's sessionToken; over `X-LC-Session` when both are given.")

    @extend_schema(
        summary="The logged-in user", tags=TAGS, parameters=[InputSerializer], auth=[*WITH_SESSION, *APP_KEYS],
        responses=answers({200: UserSerializer}, Errors.USER_NOT_FOUND),
    )
    def get(self, request):
        # The query string only. The Python SDK's become() sends the new token there and the old one in the header.
        params = self.InputSerializer.parse(request.query_params.dict())
        token = params["session_token"] or session_token(request)
        user = selectors.user_by_session_token(app=request.auth.app, token=token)
        if user is None:
            raise LeanCloudError(Errors.USER_NOT_FOUND)
        return Response(user.as_leancloud(session_token=token))


class UserDetailView(UserAPIView):
    """GET, PUT, DELETE /users/<id> and /classes/_User/<id> (where both SDKs save and fetch users)."""

    InputSerializer = UserBody

    class QuerySerializer(fields.Params):
        new = fields.Flag(help_text="`true`: answer with the whole user.")
        fetchWhenSave = fields.Flag(help_text="`true`: answer with the whole user.")

    @extend_schema(
        summary="A user: the whole user to itself (its session) and the master key, its public fields to anyone else",
        tags=TAGS, parameters=[ID_IN_PATH], auth=[*WITH_SESSION, *APP_KEYS],
        responses=answers(
            {200: PolymorphicProxySerializer("UserOrPublicUser", [UserSerializer, PublicUserSerializer], None, many=False)},
            Errors.USER_NOT_FOUND,
        ),
    )
    def get(self, request, object_id):
        user = self.target(request, object_id)
        if request.auth.is_master or self.is_caller(request, user):
            return Response(user.as_leancloud())
        return Response(user.as_public())

    @extend_schema(
        summary="Change a user (its own session, or the master key)", tags=TAGS,
        parameters=[ID_IN_PATH, QuerySerializer], request=json_body(InputSerializer),
        responses=answers(
            {200: PolymorphicProxySerializer("UpdatedOrUser", [UpdatedSerializer, UserSerializer], None, many=False)},
            Errors.USER_NOT_FOUND, Errors.SESSION_REQUIRED, *BODY_ERRORS, Errors.TOO_MANY_REQUESTS,
        ),
    )
    def put(self, request, object_id):
        enforce_ip_budget(request, IpBudget.USER_UPDATE)
        user = self.target(request, object_id)
        self.require_may_alter(request, user)
        body = self.InputSerializer.parse(request.data)
        user = phone_flows.update_user(
            app=request.auth.app, user=user, fields=body["fields"], is_master=request.auth.is_master,
            validate_token=body["validate_token"], before_sending=sms_budget(request),
        )
        query = self.QuerySerializer.parse(request.query_params.dict())
        if query["new"] or query["fetchWhenSave"]:
            return Response(user.as_leancloud())
        return Response({"objectId": user.object_id, "updatedAt": iso_date(user.updated_at)})

    @extend_schema(summary="Delete a user (its own session, or the master key)", tags=TAGS, parameters=[ID_IN_PATH],
                   responses=answers({200: EmptySerializer}, Errors.USER_NOT_FOUND, Errors.SESSION_REQUIRED))
    def delete(self, request, object_id):
        user = self.target(request, object_id)
        self.require_may_alter(request, user)
        users.delete_user(user=user)
        return Response({})


class RefreshSessionTokenView(UserAPIView):
    @extend_schema(summary="End the user's sessions and open one", tags=TAGS, parameters=[ID_IN_PATH], request=None,
                   responses=answers({200: UserSerializer}, Errors.USER_NOT_FOUND, Errors.SESSION_REQUIRED))
    def put(self, request, object_id):
        user = self.target(request, object_id)
        self.require_may_alter(request, user)
        token = sessions.refresh_session_token(user=user)
        return Response(user.as_leancloud(session_token=token))


class UpdatePasswordView(UserAPIView):
    class InputSerializer(fields.Params):
        old_password = fields.NonEmptyString(required=True)
        new_password = fields.NonEmptyString(required=True, help_text="Missing or empty: 201.")

    @extend_schema(
        summary="Change the password (the old one given)", tags=TAGS, parameters=[ID_IN_PATH],
        request=json_body(InputSerializer),
        responses=answers({200: UserSerializer}, Errors.TOO_MANY_REQUESTS, Errors.USER_NOT_FOUND, Errors.SESSION_REQUIRED,
                          Errors.PASSWORD_MISSING, Errors.PASSWORD_MISMATCH, Errors.LOGIN_LOCKED, Errors.MALFORMED_JSON),
    )
    def put(self, request, object_id):
        enforce_ip_budget(request, IpBudget.LOGIN)
        user = self.target(request, object_id)
        self.require_may_alter(request, user)
        params = self.InputSerializer.parse(self.params(request))
        token = sessions.update_password(
            app=request.auth.app, user=user, old_password=params["old_password"], new_password=params["new_password"],
        )
        return Response(user.as_leancloud(session_token=token))


class UsersByMobilePhoneView(UserAPIView):
    class InputSerializer(fields.Params):
        """A number and its code: logs in the number's user, or signs one up (verified, named after the
        number); `username`, `password` and custom fields count only for a new user."""

        additional_properties = {"description": "A custom field of a new user."}

        mobilePhoneNumber = fields.PhoneField(required=True)
        smsCode = fields.OptionalText(required=True, help_text="From requestSmsCode or requestLoginSmsCode.")
        username = fields.Passthrough(schema={"type": "string", "description": "A new user's (else the number)."})
        password = fields.Passthrough(schema={"type": "string", "writeOnly": True})

    @extend_schema(
        summary="Sign up or log in with a number and its code", tags=TAGS, request=json_body(InputSerializer),
        responses=answers({200: UserSerializer}, Errors.PHONE_MISSING, Errors.INVALID_PHONE, Errors.TOO_MANY_REQUESTS,
                          Errors.INVALID_SMS_CODE, Errors.LOGIN_LOCKED, *BODY_ERRORS),
    )
    def post(self, request):
        params = self.InputSerializer.parse(self.params(request))
        self.spend_code_budget(request, params["mobilePhoneNumber"])
        user, token = phone_flows.sign_up_or_log_in_with_phone(
            app=request.auth.app, phone=params["mobilePhoneNumber"], code=params["smsCode"],
            fields=dict(request.data),  # the body's fields (not the query's) make a new user
        )
        return Response(user.as_leancloud(session_token=token))


SEND_CODE_ERRORS = (Errors.PHONE_MISSING, Errors.INVALID_PHONE, Errors.TOO_MANY_REQUESTS, Errors.PHONE_USER_NOT_FOUND,
                    Errors.MALFORMED_JSON, *codes.REFUSALS)


class SendCodeView(UserAPIView):
    """POST {mobilePhoneNumber, [validate_token]}: send that number a code of this call's kind."""

    send_code = None  # the service: (*, app, phone, validate_token) -> None
    InputSerializer = SendCodeInput

    @extend_schema(tags=TAGS, request=json_body(SendCodeInput))
    def post(self, request):
        params = self.InputSerializer.parse(self.params(request), request=request)
        self.send_code(app=request.auth.app, phone=params["mobilePhoneNumber"], validate_token=params["validate_token"])
        return Response({})


@extend_schema(summary="Send a user's number a verification code (none if it is verified)",
               responses=answers({200: EmptySerializer}, *SEND_CODE_ERRORS))
class RequestMobilePhoneVerifyView(SendCodeView):
    send_code = staticmethod(phone_flows.request_phone_verification)


class VerifyMobilePhoneView(UserAPIView):
    class InputSerializer(fields.Params):
        mobilePhoneNumber = fields.PhoneField(
            help_text="E.164; without it the code tells the number, the logged-in user's first (the JS SDK "
                      "sends `null`).")

    @extend_schema(
        summary="Verify a user's number with its code", tags=TAGS, parameters=[CODE_IN_PATH],
        request=json_body(InputSerializer),
        responses=answers({200: UpdatedSerializer}, Errors.INVALID_PHONE, Errors.TOO_MANY_REQUESTS,
                          Errors.PHONE_USER_NOT_FOUND, Errors.INVALID_SMS_CODE, Errors.MALFORMED_JSON),
    )
    def post(self, request, code):
        phone = self.InputSerializer.parse(self.params(request))["mobilePhoneNumber"]
        preferred = self.spend_code_budget(request, phone)
        user = phone_flows.verify_phone(app=request.auth.app, code=code, phone=phone, prefer_phone=preferred)
        return Response({"objectId": user.object_id, "updatedAt": iso_date(user.updated_at)})


@extend_schema(summary="Send a verified number a login code",
               responses=answers({200: EmptySerializer}, *SEND_CODE_ERRORS, Errors.OPERATION_FORBIDDEN,
                                 Errors.PHONE_NOT_VERIFIED))
class RequestLoginSmsCodeView(SendCodeView):
    send_code = staticmethod(phone_flows.request_login_code)


@extend_schema(summary="Send a user's number a password-reset code",
               responses=answers({200: EmptySerializer}, *SEND_CODE_ERRORS, Errors.PHONE_NOT_VERIFIED))
class RequestPasswordResetBySmsCodeView(SendCodeView):
    send_code = staticmethod(phone_flows.request_password_reset_code)


class ResetPasswordBySmsCodeView(UserAPIView):
    class InputSerializer(fields.Params):
        mobilePhoneNumber = fields.PhoneField(
            help_text="E.164; without it the code tells the number, the logged-in user's first (JS SDK).")
        # Checked by the service, after the per-IP budget of a code without its number (201 when missing).
        password = fields.NonEmptyString(required=True, help_text="The new password; missing or empty: 201.")

    @extend_schema(
        summary="Set a new password with a reset code", tags=TAGS, parameters=[CODE_IN_PATH],
        request=json_body(InputSerializer),
        responses=answers({200: EmptySerializer}, Errors.INVALID_PHONE, Errors.TOO_MANY_REQUESTS, Errors.PASSWORD_MISSING,
                          Errors.PHONE_USER_NOT_FOUND, Errors.PHONE_NOT_VERIFIED, Errors.INVALID_SMS_CODE,
                          Errors.MALFORMED_JSON),
    )
    def put(self, request, code):
        params = self.InputSerializer.parse(self.params(request))
        phone = params["mobilePhoneNumber"]
        preferred = self.spend_code_budget(request, phone)
        phone_flows.reset_password_with_code(app=request.auth.app, code=code, password=params["password"], phone=phone,
                                             prefer_phone=preferred)
        return Response({})


class RequestChangePhoneNumberView(UserAPIView):
    class InputSerializer(SpendSmsBudgetAfterPhone, fields.Params):
        mobilePhoneNumber = fields.PhoneField(required=True, help_text="The number the user wants.")
        ttl = TtlField(default=CHANGE_PHONE_TTL_MINUTES)
        validate_token = fields.OptionalText(help_text="From verifyCaptcha; the app's `force_captcha` needs one.")

    @extend_schema(
        summary="Send a logged-in user's new number a code", tags=TAGS, auth=WITH_SESSION,
        request=json_body(InputSerializer),
        responses=answers({200: EmptySerializer}, Errors.SESSION_REQUIRED, Errors.PHONE_MISSING, Errors.INVALID_PHONE,
                          Errors.TOO_MANY_REQUESTS, (Errors.BAD_REQUEST, "ttl must be a whole number from 1 to 1440."),
                          Errors.PHONE_TAKEN, Errors.MALFORMED_JSON, *codes.REFUSALS),
    )
    def post(self, request):
        user = self.require_session_user(request)
        params = self.InputSerializer.parse(self.params(request), request=request)
        phone_flows.request_phone_change_code(
            app=request.auth.app, user=user, phone=params["mobilePhoneNumber"], ttl_minutes=params["ttl"],
            validate_token=params["validate_token"],
        )
        return Response({})


class ChangePhoneNumberView(UserAPIView):
    class InputSerializer(fields.Params):
        mobilePhoneNumber = fields.PhoneField(required=True)
        code = fields.OptionalText(required=True, help_text="From requestChangePhoneNumber.")

    @extend_schema(
        summary="Give a logged-in user the number its code went to", tags=TAGS, auth=WITH_SESSION,
        request=json_body(InputSerializer),
        responses=answers({200: EmptySerializer}, Errors.SESSION_REQUIRED, Errors.PHONE_MISSING, Errors.INVALID_PHONE,
                          Errors.TOO_MANY_REQUESTS, Errors.PHONE_TAKEN, Errors.INVALID_SMS_CODE, Errors.MALFORMED_JSON),
    )
    def post(self, request):
        user = self.require_session_user(request)
        params = self.InputSerializer.parse(self.params(request))
        self.spend_code_budget(request, params["mobilePhoneNumber"])
        phone_flows.change_phone(app=request.auth.app, user=user, phone=params["mobilePhoneNumber"], code=params["code"])
        return Response({})
