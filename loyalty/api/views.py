from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import filters, mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from core.access import scope_queryset
from core.api import CursorPagination, PageNumberPagination, ShopScopeFilter
from loyalty.api.serializers import (
    AudiencePreviewSerializer,
    AudienceRulesPreviewSerializer,
    AudienceSerializer,
    CustomerSerializer,
    FidelityCardSerializer,
    FidelityProgramSerializer,
    PointMovementSerializer,
)
from loyalty.audiences import audience_preview, audience_rules_preview, audience_save
from loyalty.consent import CONSENT_FIELD
from loyalty.models import (
    Audience,
    ConsentSource,
    Customer,
    FidelityCard,
    FidelityProgram,
    PointMovement,
)
from loyalty.privacy import customer_erase, customer_export
from loyalty.services import (
    MOVEMENT_FIELDS,
    card_enrol,
    customer_get_or_create,
    customer_save,
    movement_create,
    movement_delete,
)


class CustomerViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """Customers, identified by mobile number (Italian if no prefix)."""

    queryset = Customer.objects.all().order_by("id")
    serializer_class = CustomerSerializer
    search_fields = ("msisdn", "name", "surname", "email")
    filterset_fields = ("email",)

    def perform_create(self, serializer):
        self._save(serializer)

    def perform_update(self, serializer):
        self._save(serializer)

    def _save(self, serializer) -> None:
        """A POST finds the customer by number or creates them; a PUT or PATCH changes the one
        in the URL, keeping the details it does not give. Either way only the consents the
        request names change."""
        current, data = serializer.instance, serializer.validated_data
        details = {
            name: data.get(name, getattr(current, name, ""))
            for name in ("name", "surname", "email")
        }
        serializer.instance = customer_save(
            customer=current,
            msisdn=str(data.get("msisdn", "")),
            consents={ch: data[name] for ch, name in CONSENT_FIELD.items() if name in data},
            source=ConsentSource.API,
            user=self.request.user,
            **details,
        )

    @extend_schema(request=None, responses={200: dict})
    @action(detail=True, methods=["get"])
    def export(self, request, pk=None):
        """Everything Vetrina holds about the customer that the caller may reach, as JSON: the
        whole record for marketing and scripts; a store manager's shops only (`scope`)."""
        return Response(customer_export(customer=self.get_object(), user=request.user))

    @extend_schema(request=None, responses={200: dict})
    @action(detail=True, methods=["post"])
    def erase(self, request, pk=None):
        """Anonymise the customer; answers what the providers' APIs could not erase."""
        if not request.user.has_perm("loyalty.delete_customer"):
            raise PermissionDenied
        not_propagated = customer_erase(customer=self.get_object(), user=request.user)
        return Response({"erased": True, "not_erased_at_providers": not_propagated})


class FidelityProgramViewSet(viewsets.ReadOnlyModelViewSet):
    """AMM fidelity programs (pulled with `manage.py pull amm`), read-only."""

    queryset = FidelityProgram.objects.all().order_by("name")
    serializer_class = FidelityProgramSerializer


class CardSearchFilter(filters.SearchFilter):
    """`?search=`: the cards FidelityCardQuerySet.matching finds, each word through an index
    (a substring search would read every card, twice with the page's count)."""

    search_description = _(
        "A card code (the whole code, any case), the holder's mobile number (with or without "
        "+39) or the start of their surname; several words find the cards matching any of them."
    )

    def filter_queryset(self, request, queryset, view):
        terms = self.get_search_terms(request)
        return queryset.matching(" ".join(terms)) if terms else queryset


class FidelityCardViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """Fidelity cards (AMM `fidelity/{program}/card`). A POST with `msisdn` alone creates the
    customer when missing. AMM cannot change or delete a card, so neither can the API."""

    queryset = FidelityCard.objects.select_related("customer").order_by("-id")
    serializer_class = FidelityCardSerializer
    filterset_fields = ("program", "shop", "active", "sync_status", "customer")
    filter_backends = (
        ShopScopeFilter,
        DjangoFilterBackend,
        CardSearchFilter,
        filters.OrderingFilter,
    )
    search_fields = ("code",)  # what the schema lists; CardSearchFilter does the search

    @transaction.atomic  # a card refused leaves no customer made for it behind
    def perform_create(self, serializer):
        data = serializer.validated_data
        customer = data.get("customer") or customer_get_or_create(msisdn=data["msisdn"])
        serializer.instance = card_enrol(
            program=data["program"],
            customer=customer,
            shop=data.get("shop"),
            code=data.get("code", ""),
            starting_points=data.get("starting_points"),
            starting_amount=data.get("starting_amount"),
            send_sms=data.get("send_sms", False),
            user=self.request.user,
        )


@extend_schema_view(
    **{
        action: extend_schema(parameters=[OpenApiParameter("card_pk", int, OpenApiParameter.PATH)])
        for action in ("list", "create", "retrieve", "destroy")
    }
)
class PointMovementViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """A card's point movements: ADD (points or amount), REWARD (reward_id), AZZERA (reset).
    DELETE removes the record at AMM too."""

    serializer_class = PointMovementSerializer
    pagination_class = CursorPagination  # a card may have years of movements
    filterset_fields = ("action", "sync_status")
    queryset = PointMovement.objects.none()  # the real one depends on the card in the URL

    def card(self) -> FidelityCard:
        if not hasattr(self, "_card"):
            cards = scope_queryset(
                self.request.user, FidelityCard.objects.select_related("program")
            )
            self._card = get_object_or_404(cards, pk=self.kwargs["card_pk"])
        return self._card

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no card
            return PointMovement.objects.none()
        return PointMovement.objects.filter(card_id=self.kwargs["card_pk"]).order_by("-date", "-id")

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = movement_create(
            card=self.card(),
            user=self.request.user,
            **{name: data[name] for name in MOVEMENT_FIELDS if name in data},
        )

    def perform_destroy(self, instance):
        movement_delete(movement=instance)


class AudiencePagination(PageNumberPagination):
    """Each audience of a page is counted live: a short page."""

    page_size = 10
    max_page_size = 50


class AudienceViewSet(viewsets.ModelViewSet):
    """Audiences: saved, named rule sets over customers, with their live `count`. `preview`
    answers the count and the first customers; POST `audiences/preview/` tries rules without
    saving them. A wrong rule answers 400 naming it (`fields.rules.<rule>`)."""

    queryset = Audience.objects.all().order_by("name", "id")
    serializer_class = AudienceSerializer
    pagination_class = AudiencePagination
    search_fields = ("name",)
    ordering_fields = ("name", "id")

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = audience_save(
            name=data["name"], rules=data.get("rules", {}), user=self.request.user
        )

    def perform_update(self, serializer):
        current, data = serializer.instance, serializer.validated_data
        serializer.instance = audience_save(
            audience=current,
            name=data.get("name", current.name),
            rules=data.get("rules", current.rules),
            user=self.request.user,
        )

    @extend_schema(request=None, responses={200: AudiencePreviewSerializer})
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        """The audience's count now and its first customers (numbers masked)."""
        return Response(AudiencePreviewSerializer(audience_preview(self.get_object())).data)

    @extend_schema(
        request=AudienceRulesPreviewSerializer, responses={200: AudiencePreviewSerializer}
    )
    @action(detail=False, methods=["post"], url_path="preview", url_name="preview-rules")
    def preview_rules(self, request):
        """Count and preview rules without saving an audience (needs the right to add one)."""
        serializer = AudienceRulesPreviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        found = audience_rules_preview(serializer.validated_data["rules"])
        return Response(AudiencePreviewSerializer(found).data)
