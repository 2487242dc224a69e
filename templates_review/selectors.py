"""What the hot path reads of an app's signatures and templates, kept per process.

`requestSmsCode` needs the app's default signature on every call and a template's approved body on
a template send. Both are read at most every APP_CACHE_SECONDS per process (as `accounts.selectors`
keeps apps): a send with the default text costs no query, a template send one indexed query at most
(none while its template is cached). A change made in this process is seen at once (every save and
delete of a signature or template forgets its app, and again when its transaction commits); one made
in another process within APP_CACHE_SECONDS.
"""
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Review, ReviewStatus, Signature, Template

_MAX_CACHED_APPS = 10_000


@dataclass(frozen=True)
class AppSignatures:
    """An app's signatures: which it has, which are approved, and its default (None: it has none)."""

    known: frozenset[str]
    approved: frozenset[str]
    default: str | None


@dataclass(frozen=True)
class ServingTemplate:
    """What serves under a template's name: its approved body (None: none approved yet)."""

    name: str
    category: str
    body: str | None
    signature: str | None  # the template's own signature (None: the request's `sign`, or the default)


# app pk -> (read at, AppSignatures) / app pk -> {template name: (read at, ServingTemplate)}
_signatures: dict[int, tuple[float, AppSignatures]] = {}
_templates: dict[int, dict[str, tuple[float, ServingTemplate]]] = {}


def _fresh(read_at: float, now: float) -> bool:
    return now - read_at < settings.APP_CACHE_SECONDS


def signatures_of(app) -> AppSignatures:
    now = time.monotonic()
    cached = _signatures.get(app.pk)
    if cached is not None and _fresh(cached[0], now):
        return cached[1]
    rows = list(Signature.objects.filter(app_id=app.pk).order_by().values_list("text", "status", "is_default"))
    found = AppSignatures(
        known=frozenset(text for text, _, _ in rows),
        approved=frozenset(text for text, status, _ in rows if status == ReviewStatus.APPROVED),
        default=next((text for text, _, is_default in rows if is_default), None),
    )
    if settings.APP_CACHE_SECONDS > 0:
        if len(_signatures) >= _MAX_CACHED_APPS:
            _signatures.clear()
        _signatures[app.pk] = (now, found)
    return found


def template_named(app, name: str) -> ServingTemplate | None:
    """The app's template `name` (unique per app: one indexed row), or None when there is none."""
    if len(name) > Template._meta.get_field("name").max_length:
        return None  # no such name can exist: not even a query
    now = time.monotonic()
    cached = _templates.get(app.pk, {}).get(name)
    if cached is not None and _fresh(cached[0], now):
        return cached[1]
    row = next(iter(
        Template.objects.filter(app_id=app.pk, name=name).order_by()
        .values_list("category", "body", "version", "signature__text")[:1]
    ), None)
    if row is None:
        return None  # not kept: an unknown name costs its query, and cannot fill this process's memory
    category, body, version, signature = row
    found = ServingTemplate(name=name, category=category, body=body if version else None, signature=signature)
    if settings.APP_CACHE_SECONDS > 0:
        if len(_templates) >= _MAX_CACHED_APPS:
            _templates.clear()
        _templates.setdefault(app.pk, {})[name] = (now, found)
    return found


def templates_with_revisions(app, name: str | None = None) -> list[Template]:
    """The app's templates (or the one named), each with `revision`: what waits beside the approved
    body, or stands in for it before one is approved (the newest submission not withdrawn, unless
    that is the approved one), or None."""
    submissions = Review.objects.exclude(status=Review.Status.WITHDRAWN).select_related("template_signature")
    templates = Template.objects.filter(app=app).select_related("signature").prefetch_related(
        Prefetch("reviews", queryset=submissions.order_by("-submitted_at", "-id"), to_attr="submissions"))
    if name is not None:
        templates = templates.filter(name=name)
    found = list(templates.order_by("name"))
    for template in found:
        latest = template.submissions[0] if template.submissions else None
        template.revision = latest if latest is not None and latest.status != Review.Status.APPROVED else None
    return found


def forget_app(app_pk: int) -> None:
    """Read the app's signatures and templates again next time (and once more after the commit, so
    that a request of this process reading in between does not keep what the commit replaces)."""
    def forget():
        _signatures.pop(app_pk, None)
        _templates.pop(app_pk, None)

    forget()
    transaction.on_commit(forget)


def forget_everything() -> None:
    _signatures.clear()
    _templates.clear()


@receiver(post_save, sender=Signature)
@receiver(post_delete, sender=Signature)
@receiver(post_save, sender=Template)
@receiver(post_delete, sender=Template)
def _forget_changed(sender, instance, **kwargs):
    forget_app(instance.app_id)
