from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from campaigns.models import Shop
from campaigns.services import SHOP_EDITABLE_FIELDS, shop_create, shop_delete, shop_update
from core.admin import SyncAdminMixin


@admin.register(Shop)
class ShopAdmin(SyncAdminMixin, admin.ModelAdmin):
    list_display = ("code", "city", "province", "address", "email")
    list_filter = ("province",)
    search_fields = ("code", "city", "address", "description")
    fields = SHOP_EDITABLE_FIELDS

    def save_model(self, request: HttpRequest, obj: Shop, form, change: bool) -> None:
        data = {name: form.cleaned_data[name] for name in SHOP_EDITABLE_FIELDS}
        if change:
            shop_update(shop=obj, data=data)
        else:
            created = shop_create(**data)
            obj.pk, obj.sync_status = created.pk, created.sync_status

    def delete_model(self, request: HttpRequest, obj: Shop) -> None:
        shop_delete(shop=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Shop]) -> None:
        for shop in queryset:
            shop_delete(shop=shop)
