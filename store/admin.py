from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from store.models import StoreManager


@admin.register(StoreManager)
class StoreManagerAdmin(admin.ModelAdmin):
    list_display = ("user", "shop_codes")
    search_fields = ("user__username", "shops__code")
    filter_horizontal = ("shops",)
    autocomplete_fields = ("user",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user").prefetch_related("shops")

    @admin.display(description=_("shops"))
    def shop_codes(self, obj: StoreManager) -> str:
        return ", ".join(shop.code for shop in obj.shops.all())
