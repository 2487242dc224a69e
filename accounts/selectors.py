from .models import App


def app_by_app_id(app_id: str) -> App | None:
    return App.objects.select_related("account").filter(app_id=app_id).first()
