from django.urls import path

from .callbacks import carrier_receipts

urlpatterns = [
    path("carriers/<str:name>/receipts", carrier_receipts, name="carrier-receipts"),
]
