from smsplatform.errors import ErrorCode, LeanCloudError


def redeem_validate_token(*, app, validate_token: str | None) -> None:
    """Gate of every SMS-sending call: an app that forces captcha needs a validate token.

    Checking and consuming the token itself comes with the captcha challenges (issue 5).
    """
    if app.force_captcha and not validate_token:
        raise LeanCloudError(ErrorCode.MISSING_VALIDATE_TOKEN)
