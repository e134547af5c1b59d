"""Flyer requests in the API: read them, approve or reject them (marketing scripts)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from store.models import FlyerRequest
from store.services import flyer_request_approve, flyer_request_reject


class FlyerRequestSerializer(serializers.ModelSerializer):
    campaign = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = FlyerRequest
        fields = (
            "id",
            "shop",
            "promo_name",
            "date_send",
            "image",
            "flyer_link",
            "note",
            "status",
            "requested_by",
            "created_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "campaign",
        )
        read_only_fields = fields


class FlyerDecisionSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class FlyerRequestViewSet(viewsets.ReadOnlyModelViewSet):
    """Flyer campaigns asked for by store managers at the counter. POST `approve` registers the
    flyer with VolantinoPiù (registerCampaignFlyer); POST `reject` needs a `note` (the reason)."""

    queryset = FlyerRequest.objects.select_related("shop").order_by("-created_at")
    serializer_class = FlyerRequestSerializer
    filterset_fields = ("status", "shop")
    search_fields = ("promo_name",)

    def _decide(self, request, decide, *, note_as: str) -> Response:
        """Approve or reject: `decide` is the service, which takes the note as `note_as`."""
        if not request.user.has_perm("store.approve_flyerrequest"):
            raise PermissionDenied
        decision = FlyerDecisionSerializer(data=request.data)
        decision.is_valid(raise_exception=True)
        note = {note_as: decision.validated_data["note"]}
        flyer_request = decide(flyer_request=self.get_object(), user=request.user, **note)
        return Response(self.get_serializer(flyer_request).data)

    @extend_schema(request=FlyerDecisionSerializer, responses=FlyerRequestSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, flyer_request_approve, note_as="note")

    @extend_schema(request=FlyerDecisionSerializer, responses=FlyerRequestSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, flyer_request_reject, note_as="reason")
