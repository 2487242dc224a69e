from django.apps import AppConfig


class UserApiConfig(AppConfig):
    """LeanCloud's `_User` API and the end-user flows that send or check SMS codes.

    One floor above `sms` (it sends and checks codes) and `accounts` (whose end users it serves);
    nothing imports it but the project's urls.
    """

    name = "accounts.user_api"
    label = "user_api"
    verbose_name = "End-user API"
