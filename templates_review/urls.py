from django.urls import path

from . import views

urlpatterns = [
    path("sms/signatures", views.SignatureListView.as_view()),
    path("sms/signatures/<str:text>", views.SignatureView.as_view()),
    path("sms/templates", views.TemplateListView.as_view()),
    path("sms/templates/<str:name>", views.TemplateView.as_view()),
]
