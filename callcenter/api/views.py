from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from callcenter.forms import CallRecordForm
from callcenter.models import CallCampaign, CallRecord, CallUpload, LeadSource
from callcenter.results import call_upload_results
from callcenter.services import (
    FIELD_NAMES,
    call_records_from_audience,
    call_records_save,
    call_upload_create,
)
from core.access import scope_queryset
from core.api import CursorPagination, api_error_body
from core.results import ResultsSerializer
from loyalty.models import Audience

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
    window_override_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

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
            "recall_date",
            "send_after",
            "window_reason",
            "window_override_reason",
            "window_override_by",
            "created_at",
        )


class CallUploadStartSerializer(serializers.Serializer):
    """The body of `upload`: all optional."""

    recall_date = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Wolkvox's recall date for every lead (future, within the send window).",
    )
    window_override = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Send now even outside the send window (permission "
        "callcenter.override_send_window); needs window_override_reason.",
    )
    window_override_reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=500
    )


class AudienceLeadsSerializer(serializers.Serializer):
    """The body of `audience-leads`."""

    audience = serializers.PrimaryKeyRelatedField(
        queryset=Audience.objects.all(),
        help_text="A saved audience (/api/v1/audiences/).",
        error_messages={"does_not_exist": _("No audience you may use has id {pk_value}.")},
    )
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text="Only count: nothing is saved."
    )


class AudienceLeadsResultSerializer(serializers.Serializer):
    audience = serializers.CharField()
    in_audience = serializers.IntegerField(help_text="Customers in the audience now.")
    with_consent = serializers.IntegerField(help_text="Of those, call consent not withdrawn.")
    do_not_call = serializers.IntegerField(help_text="Of those, on the do-not-call list.")
    excluded = serializers.DictField(
        child=serializers.IntegerField(), help_text="Left out: reason → how many."
    )
    created = serializers.IntegerField()
    merged = serializers.IntegerField()
    dry_run = serializers.BooleanField()


class CallCampaignViewSet(viewsets.ModelViewSet):
    """Wolkvox predictive campaigns (made in Wolkvox manager; here by their id). POST
    `upload` sends the campaign's leads through the consent gate, in chunks of 10,000."""

    queryset = CallCampaign.objects.all().order_by("name")
    serializer_class = CallCampaignSerializer
    search_fields = ("name", "remote_campaign_id")

    @extend_schema(request=CallUploadStartSerializer, responses={202: CallUploadSerializer})
    @action(detail=True, methods=["post"])
    def upload(self, request, pk=None):
        """Outside the send window the chunks wait for its next opening (`send_after`, the
        reason in `window_reason`), unless `window_override` with a reason (marketing only)."""
        body = CallUploadStartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload = call_upload_create(
            campaign=self.get_object(), user=request.user, **body.validated_data
        )
        return Response(CallUploadSerializer(upload).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=AudienceLeadsSerializer,
        responses={200: AudienceLeadsResultSerializer, 201: AudienceLeadsResultSerializer},
    )
    @action(detail=True, methods=["post"], url_path="audience-leads")
    def audience_leads(self, request, pk=None):
        """Leads from a saved audience, through the calls consent gate: `in_audience`,
        `with_consent` (call consent not withdrawn), `do_not_call` (of those, on the list),
        and the leads `created` or `merged`. `dry_run`: only the counts, nothing saved (200)."""
        if not (
            request.user.has_perm("callcenter.add_callrecord")
            and request.user.has_perm("loyalty.view_audience")
        ):
            raise exceptions.PermissionDenied()
        campaign = self.get_object()
        body = AudienceLeadsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        dry_run = body.validated_data["dry_run"]
        report = call_records_from_audience(
            campaign=campaign, audience=body.validated_data["audience"], dry_run=dry_run
        )
        reach, leads = report.reach, report.leads
        result = {
            "audience": reach.audience,
            "in_audience": reach.in_audience,
            "with_consent": reach.with_consent,
            "do_not_call": reach.do_not_call,
            "excluded": reach.excluded,
            "created": leads.created,
            "merged": leads.merged,
            "dry_run": dry_run,
        }
        return Response(result, status=status.HTTP_200_OK if dry_run else status.HTTP_201_CREATED)


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

    @extend_schema(responses=ResultsSerializer)
    @action(detail=True, methods=["get"])
    def results(self, request, pk=None):
        """The upload's results, as its admin page shows them: totals (leads, sent, confirmed,
        refused, failed, excluded), per day (sent, confirmed, refused) and per shop (sent)."""
        return Response(call_upload_results(upload=self.get_object()).as_json())
