from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from core.results import ResultsSerializer
from messaging.api.serializers import (
    PushMessageSerializer,
    PushSendConfirmSerializer,
    PushSendSerializer,
)
from messaging.models import PushSend
from messaging.results import push_send_results
from messaging.services import (
    SEND_FIELDS,
    push_send_confirm,
    push_send_counts_many,
    push_send_create,
    push_send_estimate,
    push_send_update,
)


class PushSendViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """Push/SMS sends through SMSHosting: create a draft, POST `estimate` (the cost, nothing
    sent), then POST `send`; `messages` lists every recipient's status. Status: draft,
    estimated, sending, sent, failed."""

    queryset = (
        PushSend.objects.all()
        .order_by("-created_at")
        .prefetch_related("audience_shops", "audience_programs")
    )
    serializer_class = PushSendSerializer
    parser_classes = (JSONParser, MultiPartParser, FormParser)
    filterset_fields = ("status", "sandbox")
    search_fields = ("name", "transaction_id")

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is not None:
            self._page_counts = push_send_counts_many([send.pk for send in page])
        return page

    def get_serializer_context(self):
        return {
            **super().get_serializer_context(),
            "push_counts": getattr(self, "_page_counts", {}),
        }

    def _fields(self, data: dict) -> dict:
        return {name: data[name] for name in SEND_FIELDS if name in data}

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        when = timezone.localtime().strftime("%Y-%m-%d %H:%M")
        data.setdefault("name", _("API send of %(when)s") % {"when": when})
        serializer.instance = push_send_create(
            shops=data.pop("audience_shops", []),
            programs=data.pop("audience_programs", []),
            **self._fields(data),
        )

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = push_send_update(
            send=serializer.instance,
            data=self._fields(data),
            shops=data.get("audience_shops"),
            programs=data.get("audience_programs"),
        )

    @extend_schema(request=None, responses=PushSendSerializer)
    @action(detail=True, methods=["post"])
    def estimate(self, request, pk=None):
        """Ask SMSHosting for the cost (push/estimate). Nothing is sent."""
        send = push_send_estimate(send=self.get_object())
        return Response(self.get_serializer(send).data)

    @extend_schema(request=PushSendConfirmSerializer, responses={202: PushSendSerializer})
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        """Confirm and send an estimated send (push/send, in batches). Outside the send window
        it is scheduled at the next opening (`send_at`, the reason in `window_reason`), unless
        `window_override` with a `window_override_reason` (marketing only)."""
        body = PushSendConfirmSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        send = push_send_confirm(send=self.get_object(), user=request.user, **body.validated_data)
        return Response(self.get_serializer(send).data, status=202)

    @extend_schema(responses=ResultsSerializer)
    @action(detail=True, methods=["get"])
    def results(self, request, pk=None):
        """The send's results, as its admin page shows them: totals (recipients, delivered,
        failed, pending), per day (delivered, failed) and per shop of the recipient's card."""
        return Response(push_send_results(send=self.get_object()).as_json())

    @extend_schema(responses=PushMessageSerializer(many=True))
    @action(detail=True, methods=["get"])
    def messages(self, request, pk=None):
        """Every recipient of the send and what became of their message."""
        queryset = self.get_object().messages.order_by("id")
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(PushMessageSerializer(page, many=True).data)
