"""factory_boy factories of the rows the suite starts from: `AppFactory(force_captcha=True)`.

Anything unique (an account's or app's name, a username, a phone number) comes from a sequence, so
no two rows of a test run collide; Faker fills what only has to look real. A factory that needs a
parent makes one (a user gets an app, an app an account) unless it is given one.
"""
from datetime import timedelta

import factory
import factory.random
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.models import Account, App, EndUser, HookAttempt, Session
from sms.codes import hash_code
from sms.models import Message, Purpose, VerificationCode
from smsplatform.tokens import digest, new_session_token
from templates_review.models import ReviewStatus, Signature

from .support import unique_phone

# The same fake names on every run.
factory.random.reseed_random("smsplatform tests")


class AccountFactory(DjangoModelFactory):
    """A developer account with the free quota and, unless `funded=False`, 100 of balance (recharged
    through its ledger), so that what a test sends is paid for: voice calls and international SMS cost
    money from the first one."""

    class Meta:
        model = Account
        skip_postgeneration_save = True

    class Params:
        company = factory.Faker("company")

    @factory.post_generation
    def funded(account, create, extracted, **kwargs):
        if create and extracted is not False:
            from accounts.services import money

            money.recharge(account=account, amount="100", reason="test funds")

    name = factory.LazyAttributeSequence(lambda account, n: f"{account.company} #{n}")
    email = factory.Faker("company_email")


def staff_user(username: str, group, password: str | None = None, *, domain: str = "example.com"):
    """A staff user in `group` (made once per test); without `password` it cannot log in (no PBKDF2
    hash to make: tests that `force_login` it stay fast)."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User.objects.create_user(username=username, password=password, is_staff=True,
                                        email=f"{username}@{domain}")
        user.groups.add(group)
    return user


def set_balances(account, *, balance=None, gift=None, free_sms=None) -> None:
    """Give `account` exactly these balances (those given), through an adjustment in its ledger."""
    from decimal import Decimal

    from accounts.selectors import balances
    from accounts.services import money

    now = balances(account.pk)
    money.adjust(
        account=account, reason="test set-up",
        balance=Decimal(str(balance)) - now.balance if balance is not None else 0,
        gift=Decimal(str(gift)) - now.gift_balance if gift is not None else 0,
        free_sms=free_sms - now.free_sms if free_sms is not None else 0,
    )


class AppFactory(DjangoModelFactory):
    """An app as `create_app` makes it (generated keys, the default settings, its name as its approved
    default signature) in an account of its own.

    Its name, and so its default signature, is its own: the limits counted per number and
    signature never meet another test's (the name is also a valid signature, which Faker's company
    names with their spaces and commas are not). Settings are checked as the admin and
    `app_settings` check them, and a test number is stored in E.164.
    """

    class Meta:
        model = App
        skip_postgeneration_save = True

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"TestApp{n}x")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        app = model_class(*args, **kwargs)
        app.fill_missing_keys()
        app.full_clean()
        app.save()
        return app

    @factory.post_generation
    def sms_signature(app, create, extracted, **kwargs):
        """`AppFactory(sms_signature="天东商城")`: that approved signature is the app's default, not its name."""
        if create and extracted:
            Signature.objects.filter(app=app, is_default=True).update(is_default=False)
            Signature.objects.create(app=app, text=extracted, status=ReviewStatus.APPROVED, is_default=True)


class EndUserFactory(DjangoModelFactory):
    """An end user who signed up with a username and the password `raw_password` ("pw1"; None: no
    password, as a user made by SMS). `verified=True`: with a verified number of its own."""

    class Meta:
        model = EndUser

    class Params:
        raw_password = "pw1"
        handle = factory.Faker("user_name")
        verified = factory.Trait(
            mobile_phone_number=factory.LazyFunction(unique_phone), mobile_phone_verified=True,
        )

    app = factory.SubFactory(AppFactory)
    username = factory.LazyAttributeSequence(lambda user, n: f"{user.handle}{n}")
    password = factory.LazyAttribute(lambda user: make_password(user.raw_password))


class SessionFactory(DjangoModelFactory):
    """An open session; give `token` to know what the SDK holds (only its digest is stored)."""

    class Meta:
        model = Session

    class Params:
        token = factory.LazyFunction(new_session_token)

    user = factory.SubFactory(EndUserFactory)
    token_hash = factory.LazyAttribute(lambda session: digest(session.token))


class MessageFactory(DjangoModelFactory):
    """A send record as accepting writes it: accepted, signed with its app's name, not yet delivered."""

    class Meta:
        model = Message

    class Params:
        body = factory.Faker("sentence", locale="zh_CN")

    app = factory.SubFactory(AppFactory)
    phone = factory.LazyFunction(unique_phone)
    signature = factory.SelfAttribute("app.name")
    text = factory.LazyAttribute(lambda message: f"【{message.signature}】{message.body}")


class VerificationCodeFactory(DjangoModelFactory):
    """A live code whose digits (`code`) the test knows, stored as `request_code` stores one."""

    class Meta:
        model = VerificationCode

    class Params:
        code = "424242"
        ttl_minutes = 10

    app = factory.SubFactory(AppFactory)
    phone = factory.LazyFunction(unique_phone)
    purpose = Purpose.SMS_CODE
    code_hash = factory.LazyAttribute(lambda row: hash_code(app=row.app, purpose=row.purpose, code=row.code))
    expires_at = factory.LazyAttribute(lambda row: timezone.now() + timedelta(minutes=row.ttl_minutes))


class HookAttemptFactory(DjangoModelFactory):
    """One call of an app's onVerified hook that its engine answered with 200."""

    class Meta:
        model = HookAttempt

    app = factory.SubFactory(AppFactory)
    user = factory.SubFactory(EndUserFactory, app=factory.SelfAttribute("..app"))
    url = "http://engine.example/1.1/functions/onVerified/sms"
    attempt = 1
    status_code = 200
    succeeded = True
    duration_ms = 12
