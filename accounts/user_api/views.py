"""LeanCloud's user API (`_User`), its phone flows and sessions: parse, call one service, answer."""
from rest_framework.response import Response

from accounts import selectors
from accounts.authentication import session_token
from accounts.services import sessions, users
from sms.codes import ttl_from_param
from smsplatform.api import LeanCloudView
from smsplatform.errors import Errors, LeanCloudError
from smsplatform.formats import iso_date
from smsplatform.limits import IpBudget, enforce_ip_budget
from smsplatform.params import optional_text
from smsplatform.phone import phone_from_param

from . import phone_flows

CHANGE_PHONE_TTL_MINUTES = 6


def optional_phone(value) -> str | None:
    return None if value in (None, "") else phone_from_param(value)


def truthy_query(request, *names) -> bool:
    return any(request.query_params.get(name) == "true" for name in names)


def sms_budget(request):
    """Spends the client's SMS budget (429 past it): for calls that may send an SMS."""
    return lambda: enforce_ip_budget(request, IpBudget.SMS)


class UserAPIView(LeanCloudView):
    def session_user(self, request):
        """The caller's end user, or None: a missing, ended or foreign `X-LC-Session` is no one."""
        return selectors.user_by_session_token(app=request.auth.app, token=session_token(request))

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

    def post(self, request):
        fields = dict(request.data)
        user, token = phone_flows.sign_up(
            app=request.auth.app, fields=fields, is_master=request.auth.is_master,
            validate_token=optional_text(fields.get("validate_token")), before_sending=sms_budget(request),
        )
        location = request.build_absolute_uri(f"{request.path.rstrip('/')}/{user.object_id}")
        return Response(
            {"objectId": user.object_id, "createdAt": iso_date(user.created_at), "sessionToken": token},
            status=201, headers={"Location": location},
        )


class LoginView(UserAPIView):
    def post(self, request):
        params = self.params(request)
        login = sessions.LoginRequest(
            username=optional_text(params.get("username")), email=optional_text(params.get("email")),
            password=optional_text(params.get("password")), sms_code=optional_text(params.get("smsCode")),
        )
        phone = optional_phone(params.get("mobilePhoneNumber")) if login.by_phone else None
        user, token = phone_flows.log_in(app=request.auth.app, login=login, phone=phone)
        return Response(user.as_leancloud(session_token=token))

    get = post


class CurrentUserView(UserAPIView):
    def get(self, request):
        # The Python SDK's become() sends the new token in the query and the old one in the header.
        token = request.query_params.get("session_token") or session_token(request)
        user = selectors.user_by_session_token(app=request.auth.app, token=token)
        if user is None:
            raise LeanCloudError(Errors.USER_NOT_FOUND)
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
        user = phone_flows.update_user(
            app=request.auth.app, user=user, fields=fields, is_master=request.auth.is_master,
            validate_token=optional_text(fields.get("validate_token")), before_sending=sms_budget(request),
        )
        if truthy_query(request, "new", "fetchWhenSave"):
            return Response(user.as_leancloud())
        return Response({"objectId": user.object_id, "updatedAt": iso_date(user.updated_at)})

    def delete(self, request, object_id):
        user = self.target(request, object_id)
        self.require_may_alter(request, user)
        users.delete_user(user=user)
        return Response({})


class RefreshSessionTokenView(UserAPIView):
    def put(self, request, object_id):
        user = self.target(request, object_id)
        self.require_may_alter(request, user)
        token = sessions.refresh_session_token(user=user)
        return Response(user.as_leancloud(session_token=token))


class UpdatePasswordView(UserAPIView):
    def put(self, request, object_id):
        user = self.target(request, object_id)
        self.require_may_alter(request, user)
        params = self.params(request)
        token = sessions.update_password(
            app=request.auth.app, user=user,
            old_password=params.get("old_password"), new_password=params.get("new_password"),
        )
        return Response(user.as_leancloud(session_token=token))


class UsersByMobilePhoneView(UserAPIView):
    def post(self, request):
        params = self.params(request)
        user, token = phone_flows.sign_up_or_log_in_with_phone(
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
        enforce_ip_budget(request, IpBudget.SMS)
        self.send_code(app=request.auth.app, phone=phone, validate_token=optional_text(params.get("validate_token")))
        return Response({})


class RequestMobilePhoneVerifyView(SendCodeView):
    send_code = staticmethod(phone_flows.request_phone_verification)


class VerifyMobilePhoneView(UserAPIView):
    def post(self, request, code):
        phone = optional_phone(self.params(request).get("mobilePhoneNumber"))
        session_user = None
        if phone is None:
            enforce_ip_budget(request, IpBudget.CODE_WITHOUT_NUMBER)
            session_user = self.session_user(request)
        user = phone_flows.verify_phone(app=request.auth.app, code=code, phone=phone, session_user=session_user)
        return Response({"objectId": user.object_id, "updatedAt": iso_date(user.updated_at)})


class RequestLoginSmsCodeView(SendCodeView):
    send_code = staticmethod(phone_flows.request_login_code)


class RequestPasswordResetBySmsCodeView(SendCodeView):
    send_code = staticmethod(phone_flows.request_password_reset_code)


class ResetPasswordBySmsCodeView(UserAPIView):
    def put(self, request, code):
        params = self.params(request)
        phone = optional_phone(params.get("mobilePhoneNumber"))
        if phone is None:
            enforce_ip_budget(request, IpBudget.CODE_WITHOUT_NUMBER)
        phone_flows.reset_password_with_code(app=request.auth.app, code=code, password=params.get("password"), phone=phone)
        return Response({})


class RequestChangePhoneNumberView(UserAPIView):
    def post(self, request):
        user = self.require_session_user(request)
        params = self.params(request)
        phone = phone_from_param(params.get("mobilePhoneNumber"))
        enforce_ip_budget(request, IpBudget.SMS)
        phone_flows.request_phone_change_code(
            app=request.auth.app, user=user, phone=phone,
            ttl_minutes=ttl_from_param(params.get("ttl"), default=CHANGE_PHONE_TTL_MINUTES),
            validate_token=optional_text(params.get("validate_token")),
        )
        return Response({})


class ChangePhoneNumberView(UserAPIView):
    def post(self, request):
        user = self.require_session_user(request)
        params = self.params(request)
        phone_flows.change_phone(
            app=request.auth.app, user=user, phone=phone_from_param(params.get("mobilePhoneNumber")),
            code=optional_text(params.get("code")),
        )
        return Response({})
