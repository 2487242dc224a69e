"""What the review queue shows of a submission: its automatic checks, run again at the time of the
review (a balance may have dropped, the marketing list changed, a signature been approved since),
and a template's preview on sample values."""
from accounts.selectors import balances

from .checks import Check, body_checks, signature_problems
from .handlebars import TemplateError
from .models import Review, ReviewStatus, Signature
from .rendering import preview
from .services import MIN_BALANCE_FOR_TEMPLATES, has_balance_for_templates
from .text_rules import MAX_TEXT_CHARACTERS


def review_preview(review: Review) -> str:
    """The signed text a template would send (sample values in its variables), or 【signature】."""
    if review.kind == Review.Kind.SIGNATURE:
        return f"【{review.subject}】"
    signature = review.template_signature.text if review.template_signature else None
    try:
        return preview(app=review.app, body=review.body, category=review.category, signature=signature)
    except TemplateError as error:
        return f"(does not compile: {error})"


def review_checks(review: Review) -> list[Check]:
    if review.kind == Review.Kind.SIGNATURE:
        return _signature_checks(review)
    return _template_checks(review)


def _signature_checks(review: Review) -> list[Check]:
    problems = signature_problems(review.subject)
    found = [Check("Follows the signature rules (2-20 Chinese characters, letters or digits; not letters or digits "
                   "only)", not problems, " ".join(problems))]
    others = sorted(set(
        Signature.objects.filter(text=review.subject, status=ReviewStatus.APPROVED)
        .exclude(app__account_id=review.app.account_id).values_list("app__account__name", flat=True)[:5]))
    found.append(Check("No other account signs with it", not others,
                       f"Approved for other accounts: {', '.join(others)}. Is it really this account's?" if others
                       else ""))
    return found


def _template_checks(review: Review) -> list[Check]:
    found = body_checks(category=review.category, body=review.body)
    signature = review.template_signature
    if signature is not None:
        found.append(Check(f"Its signature 【{signature.text}】 is approved", signature.approved,
                           "" if signature.approved else f"The signature is {signature.get_status_display().lower()}: "
                                                         "the template cannot send until it is approved."))
    text = review_preview(review)
    fits = len(text) <= MAX_TEXT_CHARACTERS
    found.append(Check(f"Fits in {MAX_TEXT_CHARACTERS} characters with its signature and sample values", fits,
                       f"{len(text)} characters"))
    funded = has_balance_for_templates(review.app.account)
    found.append(Check(f"The account has at least {MIN_BALANCE_FOR_TEMPLATES:.0f} of non-gift balance", funded,
                       f"Balance {balances(review.app.account_id).balance:.2f}"))
    return found
