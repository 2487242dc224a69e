"""LeanCloud's user API (`_User`), its phone flows and sessions: parse, call one service, answer."""
from django.conf import settings
from rest_framework.response import Response

from sms.models import VerificationCode
from sms.phone import phone_from_param
from smsplatform.api import LeanCloudView, enforce_ip_flow_control
from smsplatform.authentication import SESSION_HEADERS, header
from smsplatform.errors import ErrorCode, LeanCloudError
from smsplatform.params import optional_text, whole_number
from smsplatform.formats import iso_date

from . import selectors, services

CHANGE_PHONE_TTL_MINUTES = 6


def optional_phone(value) -> str | None:
    return None if value in (None, "") else phone_from_param(value)


def truthy_query(request, *names) -> bool:
    return any(request.query_params.get(name) == "true" for name in names)


def limit_sms_senders(request) -> None:
    enforce_ip_flow_control(request, "sms", settings.RATELIMIT_SMS_PER_IP)


def limit_code_guessers(request) -> None:
    """Codes redeemed without their number could be any number's: guesses are limited per client."""
    enforce_ip_flow_control(request, "sms-code-without-number", settings.RATELIMIT_SMS_PER_IP)


class UserAPIView(LeanCloudView):
    def session_user(self, request):
        """The caller's end user, or None: a missing, ended or foreign `X-LC-Session` is no one."""
        return selectors.user_by_session_token(app=request.auth.app, token=header(request.META, SESSION_HEADERS))

    def require_session_user(self, request):
        user = self.session_user(request)
        if user is None:
            raise LeanCloudError(ErrorCode.SESSION_REQUIRED)
        return user

    def target(self, request, object_id):
        user = selectors.user_by_object_id(app=request.auth.app, object_id=object_id)
        if user is None:
            raise LeanCloudError(ErrorCode.USER_NOT_FOUND)
        return user

    def is_caller(self, request, user) -> bool:
        caller = self.session_user(request)
        return caller is not None and caller.pk == user.pk

    def require_may_alter(self, request, user) -> None:
        """A user changes only itself; the master key changes anyone."""
        if not request.auth.is_master and not self.is_caller(request, user):
            raise LeanCloudError(ErrorCode.SESSION_REQUIRED)


class SignUpView(UserAPIView):
    """POST /users (JS SDK) and /classes/_User (Python SDK)."""

    def post(self, request):
        app = request.auth.app
        fields = dict(request.data)
        if app.verify_phone_on_signup and fields.get("mobilePhoneNumber"):
            limit_sms_senders(request)
        user, token = services.sign_up(
            app=app, fields=fields, is_master=request.auth.is_master,
            validate_token=optional_text(fields.get("validate_token")),
        )
        location = request.build_absolute_uri(f"{request.path.rstrip('/')}/{user.object_id}")
        return Response(
            {"objectId": user.object_id, "createdAt": iso_date(user.created_at), "sessionToken": token},
            status=201, headers={"Location": location},
        )


class LoginView(UserAPIView):
    def post(self, request):
        params = self.params(request)
        username, email = optional_text(params.get("username")), optional_text(params.get("email"))
        password, sms_code = optional_text(params.get("password")), optional_text(params.get("smsCode"))
        by_phone = (sms_code is not None and password is None) or (username is None and email is None)
        user, token = services.log_in(
            app=request.auth.app, username=username, email=email, password=password, sms_code=sms_code,
            phone=optional_phone(params.get("mobilePhoneNumber")) if by_phone else None,
        )
        return Response(user.as_leancloud(session_token=token))

    get = post


class CurrentUserView(UserAPIView):
    def get(self, request):
        # The Python SDK's become() sends the new token in the query and the old one in the header.
        token = request.query_params.get("session_token") or header(request.META, SESSION_HEADERS)
        user = selectors.user_by_session_token(app=request.auth.app, token=token)
        if user is None:
            raise LeanCloudError(ErrorCode.USER_NOT_FOUND)
        return Response(user.as_leancloud(session_token=token))


class UserDetailView(UserAPIView):
    """GET, PUT, DELETE /users/<id> and /classes/_User/<id> (where both SDKs save and fetch users)."""

    def get(self, request, object_id):
        user = self.target(request, object_id)
        public = not request.auth.is_master and not self.is_caller(request, user)
        return Response(user.as_leancloud(public=public))

    def put(self, request, object_id):
        user = self.target(request, object_id)
        self.require_may_alter(request, user)
        fields = dict(request.data)
        if request.auth.app.verify_phone_on_signup and fields.get("mobilePhoneNumber"):
            limit_sms_senders(request)
        user = services.update_user(
            app=request.auth.app, user=user, fields=fields, is_master=request.auth.is_master,
            validate_token=optional_text(fields.get("validate_token")),
        )
        if truthy_query(request, "new", "fetchWhenSave"):
            return Response(user.as_leancloud())
        return Response({"objectId": user.object_id, "updatedAt": iso_date(user.updated_at)})

    def delete(self, request, object_id):
        user = self.target(request, object_id)
        self.require_may_alter(request, user)
        services.delete_user(user=user)
        return Response({})


class RefreshSessionTokenView(UserAPIView):
    def put(self, request, object_id):
        user = self.target(request, object_id)
        self.require_may_alter(request, user)
        token = services.refresh_session_token(user=user)
        return Response(user.as_leancloud(session_token=token))


class UpdatePasswordView(UserAPIView):
    def put(self, request, object_id):
        user = self.target(request, object_id)
        self.require_may_alter(request, user)
        params = self.params(request)
        token = services.update_password(
            app=request.auth.app, user=user,
            old_password=params.get("old_password"), new_password=params.get("new_password"),
        )
        return Response(user.as_leancloud(session_token=token))


class UsersByMobilePhoneView(UserAPIView):
    def post(self, request):
        params = self.params(request)
        user, token = services.sign_up_or_log_in_with_phone(
            app=request.auth.app, phone=phone_from_param(params.get("mobilePhoneNumber")),
            code=optional_text(params.get("smsCode")), fields=dict(request.data),
        )
        return Response(user.as_leancloud(session_token=token))


class SendCodeView(UserAPIView):
    """POST {mobilePhoneNumber, [validate_token]}: send that number a code of this call's kind."""

    send_code = None  # the service: (*, app, phone, validate_token) -> None

    def post(self, request):
        params = self.params(request)
        phone = phone_from_param(params.get("mobilePhoneNumber"))
        limit_sms_senders(request)
        self.send_code(app=request.auth.app, phone=phone, validate_token=optional_text(params.get("validate_token")))
        return Response({})


class RequestMobilePhoneVerifyView(SendCodeView):
    send_code = staticmethod(services.request_phone_verification)


class VerifyMobilePhoneView(UserAPIView):
    def post(self, request, code):
        phone = optional_phone(self.params(request).get("mobilePhoneNumber"))
        session_user = None
        if phone is None:
            limit_code_guessers(request)
            session_user = self.session_user(request)
        user = services.verify_phone(app=request.auth.app, code=code, phone=phone, session_user=session_user)
        return Response({"objectId": user.object_id, "updatedAt": iso_date(user.updated_at)})


class RequestLoginSmsCodeView(SendCodeView):
    send_code = staticmethod(services.request_login_code)


class RequestPasswordResetBySmsCodeView(SendCodeView):
    send_code = staticmethod(services.request_password_reset_code)


class ResetPasswordBySmsCodeView(UserAPIView):
    def put(self, request, code):
        params = self.params(request)
        phone = optional_phone(params.get("mobilePhoneNumber"))
        if phone is None:
            limit_code_guessers(request)
        services.reset_password_with_code(app=request.auth.app, code=code, password=params.get("password"), phone=phone)
        return Response({})


class RequestChangePhoneNumberView(UserAPIView):
    def post(self, request):
        user = self.require_session_user(request)
        params = self.params(request)
        phone = phone_from_param(params.get("mobilePhoneNumber"))
        limit_sms_senders(request)
        services.request_phone_change_code(
            app=request.auth.app, user=user, phone=phone,
            ttl_minutes=whole_number(
                params.get("ttl"), name="ttl", low=1, high=VerificationCode.MAX_TTL_MINUTES,
                default=CHANGE_PHONE_TTL_MINUTES,
            ),
            validate_token=optional_text(params.get("validate_token")),
        )
        return Response({})


class ChangePhoneNumberView(UserAPIView):
    def post(self, request):
        user = self.require_session_user(request)
        params = self.params(request)
        services.change_phone(
            app=request.auth.app, user=user, phone=phone_from_param(params.get("mobilePhoneNumber")),
            code=optional_text(params.get("code")),
        )
        return Response({})
