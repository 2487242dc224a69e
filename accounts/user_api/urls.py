from django.urls import path

from . import views

urlpatterns = [
    path("users", views.SignUpView.as_view()),
    path("classes/_User", views.SignUpView.as_view()),
    path("users/me", views.CurrentUserView.as_view()),
    path("users/<str:object_id>", views.UserDetailView.as_view()),
    path("classes/_User/<str:object_id>", views.UserDetailView.as_view()),
    path("users/<str:object_id>/refreshSessionToken", views.RefreshSessionTokenView.as_view()),
    path("users/<str:object_id>/updatePassword", views.UpdatePasswordView.as_view()),
    path("login", views.LoginView.as_view()),
    path("usersByMobilePhone", views.UsersByMobilePhoneView.as_view()),
    path("requestMobilePhoneVerify", views.RequestMobilePhoneVerifyView.as_view()),
    path("verifyMobilePhone/<str:code>", views.VerifyMobilePhoneView.as_view()),
    path("requestLoginSmsCode", views.RequestLoginSmsCodeView.as_view()),
    path("requestPasswordResetBySmsCode", views.RequestPasswordResetBySmsCodeView.as_view()),
    path("resetPasswordBySmsCode/<str:code>", views.ResetPasswordBySmsCodeView.as_view()),
    path("requestChangePhoneNumber", views.RequestChangePhoneNumberView.as_view()),
    path("changePhoneNumber", views.ChangePhoneNumberView.as_view()),
]
