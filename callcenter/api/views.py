from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from callcenter.forms import CallRecordForm
from callcenter.models import CallCampaign, CallRecord, CallUpload, LeadSource
from callcenter.services import FIELD_NAMES, call_records_save, call_upload_create
from core.access import scope_queryset
from core.api import CursorPagination, api_error_body

# The lead fields a JSON lead may give as null (as CallRecordSerializer, the schema, says).
NULLABLE_LEAD_FIELDS = frozenset({"recall_date"})


class CallCampaignSerializer(serializers.ModelSerializer):
    class Meta:
        model = CallCampaign
        fields = ("id", "remote_campaign_id", "name", "status")


class CallRecordSerializer(serializers.ModelSerializer):
    recall_date = serializers.DateTimeField(required=False, allow_null=True)

    class Meta:
        model = CallRecord
        fields = ("id", *CallRecordForm.Meta.fields, "uploaded_at")
        read_only_fields = ("uploaded_at",)


class CallUploadSerializer(serializers.ModelSerializer):
    class Meta:
        model = CallUpload
        fields = (
            "id",
            "campaign",
            "status",
            "records_total",
            "records_sent",
            "records_confirmed",
            "chunks_total",
            "chunks_done",
            "excluded",
            "created_at",
        )


class CallCampaignViewSet(viewsets.ModelViewSet):
    """Wolkvox predictive campaigns (made in Wolkvox manager; here by their id). POST
    `upload` sends the campaign's leads through the consent gate, in chunks of 10,000."""

    queryset = CallCampaign.objects.all().order_by("name")
    serializer_class = CallCampaignSerializer
    search_fields = ("name", "remote_campaign_id")

    @extend_schema(request=None, responses={202: CallUploadSerializer})
    @action(detail=True, methods=["post"])
    def upload(self, request, pk=None):
        upload = call_upload_create(campaign=self.get_object(), user=request.user)
        return Response(CallUploadSerializer(upload).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(parameters=[OpenApiParameter("campaign_pk", int, OpenApiParameter.PATH)]),
    create=extend_schema(
        parameters=[OpenApiParameter("campaign_pk", int, OpenApiParameter.PATH)],
        request=PolymorphicProxySerializer(
            component_name="CallRecordOrList",
            serializers=[CallRecordSerializer, CallRecordSerializer(many=True)],
            resource_type_field_name=None,
            many=False,
        ),
        responses={
            201: inline_serializer(
                "CallRecordsSaved",
                {"created": serializers.IntegerField(), "merged": serializers.IntegerField()},
            )
        },
    ),
)
class CallRecordViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """A campaign's leads. POST one lead or a list (the document's field names); a phone
    already in the campaign is merged; a list with any bad lead saves nothing and says which."""

    serializer_class = CallRecordSerializer
    parser_classes = (JSONParser,)  # a list of leads has no form encoding
    pagination_class = CursorPagination  # a campaign may hold 250,000 leads
    queryset = CallRecord.objects.none()
    search_fields = ("tel1", "customer_name", "customer_last_name")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return CallRecord.objects.none()
        return CallRecord.objects.filter(campaign_id=self.kwargs["campaign_pk"])

    def create(self, request, *args, **kwargs):
        campaigns = scope_queryset(self.request.user, CallCampaign.objects.all())
        campaign = get_object_or_404(campaigns, pk=self.kwargs["campaign_pk"])
        items = request.data if isinstance(request.data, list) else [request.data]
        rows = [
            (line, dict(item)) for line, item in enumerate(items, start=1) if isinstance(item, dict)
        ]
        if len(rows) != len(items):
            raise serializers.ValidationError({"detail": [_("Each lead is a JSON object.")]})
        wrong_types = [(line, reason) for line, item in rows if (reason := _lead_type_errors(item))]
        lines_refused = {line for line, _reason in wrong_types}
        preview = call_records_save(
            campaign=campaign,
            rows=[(line, item) for line, item in rows if line not in lines_refused],
            source=LeadSource.API,
            dry_run=True,
        )
        errors = sorted([*wrong_types, *preview.errors])
        if errors:
            rows = [{"line": line, "reason": reason} for line, reason in errors]
            body = api_error_body(
                code="invalid_rows",
                message=_("Some leads are invalid: nothing was saved."),
                rows=rows,
            )
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        report = call_records_save(campaign=campaign, rows=rows, source=LeadSource.API)
        return Response(
            {"created": report.created, "merged": report.merged}, status=status.HTTP_201_CREATED
        )


def _lead_type_errors(item: dict) -> str:
    """A JSON lead's values are text (a phone may come as a number), null only where the schema
    allows it; the service, which also reads files, turns whatever it gets into text."""
    reasons = []
    for name, value in item.items():
        if name not in FIELD_NAMES:
            continue  # the service names the unknown columns
        if value is None and name not in NULLABLE_LEAD_FIELDS:
            reasons.append(f"{name}: {_('This field may not be null.')}")
        elif isinstance(value, (bool, dict, list)):
            reasons.append(f"{name}: {_('Not a valid string.')}")
    return "; ".join(reasons)


class CallUploadViewSet(viewsets.ReadOnlyModelViewSet):
    """Uploads of leads to Wolkvox and how far they got."""

    queryset = CallUpload.objects.all().order_by("-created_at")
    serializer_class = CallUploadSerializer
    filterset_fields = ("campaign", "status")
