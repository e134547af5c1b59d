"""The lead file's preview is a job (callcenter/admin.py, callcenter/previews.py): the upload is
stored and a worker reads it as a stream — CSV a line at a time, XLSX in openpyxl's read-only
mode — within documented bounds, keeping counters and a few rows, never the file; its page
shows the preview and **Importa**. The import job is resumable without duplicates, and a file
is removed at once when its job fails for good."""

import io
import tracemalloc
import zipfile
from datetime import timedelta

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError

from callcenter import admin as callcenter_admin
from callcenter import previews
from callcenter.models import CallCampaign, CallRecord
from callcenter.previews import IMPORT_DIR, lead_file_rows
from core.jobs import job_sweep
from core.models import Job, JobStatus
from core.tasks import job_run_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    return CallCampaign.objects.create(remote_campaign_id="42", name="Riattivazione")


@pytest.fixture
def upload(admin_client, campaign, deliver):
    """Upload a lead file in the admin; its preview job runs; answers the job."""

    def send(name: str, content: bytes) -> Job:
        with deliver():
            response = admin_client.post(
                reverse("admin:callcenter_import", args=[campaign.pk]),
                {"file": SimpleUploadedFile(name, content)},
            )
        assert response.status_code == 302, response.content.decode()[-2000:]
        job = Job.objects.filter(kind="lead_preview").latest("id")
        assert response["Location"] == reverse("admin:core_job_change", args=[job.pk])
        return job

    return send


def page(admin_client, job: Job) -> str:
    return admin_client.get(reverse("admin:core_job_change", args=[job.pk])).content.decode()


def confirm(admin_client, campaign, token: str):
    return admin_client.post(
        reverse("admin:callcenter_import", args=[campaign.pk]), {"token": token}
    )


def csv_of(rows: int, *, bad_every: int = 0, twice_every: int = 0) -> bytes:
    lines = ["customer_name,tel1,email"]
    for i in range(rows):
        if bad_every and i % bad_every == 7 % bad_every:
            lines.append(f"Sbagliato {i},12,")
        elif twice_every and i % twice_every == 1:
            lines.append(f"Di nuovo {i},347{i - 1:07d},")  # the phone of the row before
        else:
            lines.append(f"Lead {i},347{i:07d},lead{i}@example.com")
    return ("\n".join(lines) + "\n").encode()


def xlsx_of(rows) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def crafted_xlsx(sheet_xml: bytes, **parts: bytes) -> bytes:
    """A real workbook whose first sheet (and any other part) is replaced."""
    source = zipfile.ZipFile(io.BytesIO(xlsx_of([["tel1"], ["3471234567"]])))
    buffer = io.BytesIO()
    replaced = {"xl/worksheets/sheet1.xml": sheet_xml, **parts}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            out.writestr(item.filename, replaced.pop(item.filename, source.read(item.filename)))
        for name, content in replaced.items():
            out.writestr(name, content)
    return buffer.getvalue()


SHEET = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b"%s<sheetData>%s</sheetData></worksheet>"
)


def sheet_xml(rows: list[list[str]], *, dimension: str = "") -> bytes:
    body = b"".join(
        b'<row r="%d">%s</row>'
        % (
            number,
            b"".join(b'<c t="inlineStr"><is><t>%s</t></is></c>' % v.encode() for v in cells),
        )
        for number, cells in enumerate(rows, start=1)
    )
    head = b'<dimension ref="%s"/>' % dimension.encode() if dimension else b""
    return SHEET % (head, body)


# --- the preview is a job --------------------------------------------------------------------
def test_uploading_a_file_starts_a_preview_job_whose_page_shows_the_preview_and_importa(
    admin_client, campaign, upload, deliver
):
    CallRecord.objects.create(campaign=campaign, source="import", tel1="393471234568")
    csv = (
        b"customer_name,tel1,email\n"
        b"Anna,3471234567,anna@example.com\n"
        b"Bruno,12,\n"
        b"Anna di nuovo,347 123 4567,\n"  # the same phone twice is one lead
        b"Carla,3471234568,\n"  # already in the campaign: merged
    )
    job = upload("leads.csv", csv)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert job.report["rows"] == 4 and job.report["errors"] == [[3, job.report["errors"][0][1]]]
    html = page(admin_client, job)
    assert 'id="import-preview">1 nuovi lead, 1 uniti' in html
    assert "non è un numero di telefono valido" in html and "<td>3</td>" in html
    assert 'id="import-sample"' in html and "393471234567" in html
    assert 'id="import-confirm"' in html and 'id="job-result"' not in html
    assert not CallRecord.objects.filter(tel1="393471234567").exists()  # a preview saves nothing

    token = job.params["token"]
    with deliver():
        response = confirm(admin_client, campaign, token)
    imported = Job.objects.get(kind="lead_import")
    assert response["Location"] == reverse("admin:core_job_change", args=[imported.pk])
    assert "1 lead aggiunti, 1 uniti, 1 righe escluse." in page(admin_client, imported)
    assert CallRecord.objects.filter(campaign=campaign).count() == 2
    assert not (IMPORT_DIR / token).exists()  # imported: its file is gone

    with deliver():  # a second click on Importa finds the job the first one started
        again = confirm(admin_client, campaign, token)
    assert (
        again["Location"] == response["Location"]
        and Job.objects.filter(kind="lead_import").count() == 1
    )


def test_a_50000_row_csv_is_previewed_by_a_job_that_reads_it_one_row_at_a_time(
    admin_client, campaign, upload, monkeypatch
):
    """Never all the rows at once: each row is checked as soon as it is read."""
    reading = {"read": 0, "checked": 0, "ahead": 0}

    def counted_rows(**kwargs):
        for row in lead_file_rows(**kwargs):
            reading["read"] += 1
            yield row

    real_clean = previews.lead_row_clean

    def counted_clean(row):
        reading["checked"] += 1
        reading["ahead"] = max(reading["ahead"], reading["read"] - reading["checked"])
        return real_clean(row)

    monkeypatch.setattr(callcenter_admin, "lead_file_rows", counted_rows)
    monkeypatch.setattr(previews, "lead_row_clean", counted_clean)
    job = upload("leads.csv", csv_of(50_000, bad_every=1_000, twice_every=100))
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.result
    assert reading == {"read": 50_000, "checked": 50_000, "ahead": 0}
    report = job.report
    assert (report["rows"], report["bad"], len(report["errors"])) == (50_000, 50, 50)
    assert report["created"] == 50_000 - 50 - 500  # 500 phones came twice
    assert len(report["sample"]) == 10 and (job.done, job.total) == (50_000, 50_000)
    assert "49450 nuovi lead" in page(admin_client, job)


def test_a_preview_keeps_counters_not_rows(campaign, monkeypatch):
    """The memory a 50,000-row preview takes, reading included, stays far below the rows'
    (about 20 MB as dicts). The rows' checks are stubbed: this measures what is kept."""
    monkeypatch.setattr(previews, "lead_row_clean", lambda row: (row, ""))
    content = csv_of(50_000)
    tracemalloc.start()
    try:
        report = previews.lead_preview(
            campaign=campaign, rows=lead_file_rows(file=io.BytesIO(content), name="leads.csv")
        )
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report["created"] == 50_000
    assert peak < 8 * 1024 * 1024, peak  # the distinct phones (one short string a lead)


def test_an_xlsx_is_previewed_in_openpyxls_read_only_mode(admin_client, upload, monkeypatch):
    opened = []
    real_load = openpyxl.load_workbook

    def spy(*args, **kwargs):
        opened.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(openpyxl, "load_workbook", spy)
    rows = [["customer_name", "tel1", "email"]]
    rows += [[f"Lead {i}", f"347{i:07d}", ""] for i in range(2_000)]
    rows += [["Bruno", "12ab", ""]]
    job = upload("leads.xlsx", xlsx_of(rows))
    job.refresh_from_db()
    assert opened and all(o.get("read_only") is True for o in opened)
    assert (job.report["created"], job.report["bad"]) == (2_000, 1)
    assert job.report["errors"][0][0] == 2_002  # the workbook's own row number
    assert 'id="import-confirm"' in page(admin_client, job)


def test_a_workbook_that_understates_its_size_is_read_to_its_last_row():
    content = crafted_xlsx(
        sheet_xml([["tel1"], *[[f"347{i:07d}"] for i in range(10)]], dimension="A1:A2")
    )
    rows = list(lead_file_rows(file=io.BytesIO(content), name="leads.xlsx"))
    assert len(rows) == 10


# --- limits ----------------------------------------------------------------------------------
def test_a_file_over_the_row_limit_fails_its_preview_in_italian_and_its_file_is_removed(
    admin_client, upload, settings
):
    settings.LEAD_IMPORT_MAX_ROWS = 100
    job = upload("leads.csv", csv_of(101))
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.result == _(
        "The file has more than %(max)d rows: split it into files of at most %(max)d rows."
    ) % {"max": 100}
    assert not (IMPORT_DIR / job.params["token"]).exists()  # removed at once
    html = page(admin_client, job)
    assert 'id="job-retry-blocked"' in html and 'id="job-retry"' not in html

    exactly = upload("leads.csv", csv_of(100))
    exactly.refresh_from_db()
    assert exactly.status == JobStatus.DONE


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(
            crafted_xlsx(sheet_xml([["tel1"], ["1"] * 2_000])),
            "too large",
            id="a row of 2,000 cells",
        ),
        pytest.param(
            crafted_xlsx(
                SHEET % (b"", b'<row r="99999999"><c t="inlineStr"><is><t>1</t></is></c></row>')
            ),
            "too large",
            id="a row beyond Excel's last",
        ),
        pytest.param(
            crafted_xlsx(sheet_xml([["tel1"], ["x" * 40_000]])),
            "too large",
            id="a cell of 40,000 characters",
        ),
        pytest.param(
            crafted_xlsx(
                b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa">'
                b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
                + sheet_xml([["tel1"], ["&b;"]]).split(b"?>", 1)[1]
            ),
            "not readable",
            id="entities (billion laughs)",
        ),
        pytest.param(b"PK\x03\x04 broken", "not readable", id="a broken zip"),
    ],
)
def test_a_crafted_workbook_is_refused_before_openpyxl_reads_it(content, message, monkeypatch):
    monkeypatch.setattr(
        openpyxl, "load_workbook", lambda *a, **k: pytest.fail("openpyxl was reached")
    )
    expected = {
        "too large": _(
            "The workbook is too large to be read safely (too many cells, or too much text "
            "once unpacked): save it as CSV, or split it."
        ),
        "not readable": _("The file is not a readable XLSX workbook."),
    }[message]
    with pytest.raises(ValidationError) as refused:
        list(lead_file_rows(file=io.BytesIO(content), name="leads.xlsx"))
    assert refused.value.messages == [expected]


def test_a_workbook_too_large_once_unpacked_is_refused_at_the_upload(
    admin_client, campaign, monkeypatch
):
    monkeypatch.setattr(previews, "XLSX_PARTS_MAX_BYTES", 2_000)
    stored = set(IMPORT_DIR.glob("*")) if IMPORT_DIR.is_dir() else set()
    content = crafted_xlsx(
        sheet_xml([["tel1"], ["3471234567"]]),
        **{"xl/sharedStrings.xml": b"<sst>" + b"<si><t>x</t></si>" * 1_000 + b"</sst>"},
    )
    response = admin_client.post(
        reverse("admin:callcenter_import", args=[campaign.pk]),
        {"file": SimpleUploadedFile("leads.xlsx", content)},
    )
    assert response.status_code == 200 and 'class="errorlist' in response.content.decode()
    assert not Job.objects.exists()
    assert set(IMPORT_DIR.glob("*")) == stored  # the refused file is not kept


def test_a_csv_is_read_in_constant_memory():
    content = csv_of(50_000)
    tracemalloc.start()
    try:
        count = sum(1 for _row in lead_file_rows(file=io.BytesIO(content), name="leads.csv"))
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 50_000
    assert peak < 1024 * 1024, peak  # the rows as dicts would be twenty times that


def test_a_csv_line_longer_than_any_lead_is_refused():
    content = b"tel1\n" + b"," * (previews.MAX_LINE_CHARS + 1) + b"\n"
    with pytest.raises(ValidationError) as refused:
        list(lead_file_rows(file=io.BytesIO(content), name="leads.csv"))
    assert refused.value.messages == [_("The file is not a readable CSV file.")]


def test_bad_rows_beyond_those_listed_are_counted(admin_client, upload, monkeypatch):
    monkeypatch.setattr(previews, "PREVIEW_ERRORS", 3)
    job = upload("leads.csv", csv_of(10, bad_every=1))
    job.refresh_from_db()
    assert (job.report["bad"], len(job.report["errors"])) == (10, 3)
    assert 'id="import-more-errors"' in page(admin_client, job)


# --- the import job: resumable, cleaned up -------------------------------------------------------
class WorkerKilled(BaseException):
    """The worker's process ends here (nothing after it runs, no except clause catches it)."""


def test_an_import_whose_worker_died_after_saving_is_finished_by_the_sweeper_without_duplicates(
    admin_client, campaign, upload, monkeypatch, deliver
):
    preview = upload("leads.csv", b"customer_name,tel1\nAnna,3471234567\nBruno,3471234568\n")
    real_remove = callcenter_admin.lead_file_remove

    def die(token):
        raise WorkerKilled

    monkeypatch.setattr(callcenter_admin, "lead_file_remove", die)
    with pytest.raises(WorkerKilled), deliver():
        confirm(admin_client, campaign, preview.params["token"])
    job = Job.objects.get(kind="lead_import")
    assert job.status == JobStatus.RUNNING and job.checkpoint["report"]["created"] == 2
    assert CallRecord.objects.count() == 2  # the leads committed with the checkpoint

    monkeypatch.setattr(callcenter_admin, "lead_file_remove", real_remove)
    assert job_sweep()["resumed"] == 0  # its lease still runs
    Job.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert job_sweep()["resumed"] == 1
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.DONE, 2)
    assert job.result.startswith("2 lead aggiunti, 0 uniti")  # the first run's report
    assert CallRecord.objects.count() == 2
    assert not (IMPORT_DIR / preview.params["token"]).exists()


def test_an_import_whose_worker_died_before_saving_imports_the_file_once(
    admin_client, campaign, upload
):
    preview = upload("leads.csv", b"customer_name,tel1\nAnna,3471234567\n")
    confirm(admin_client, campaign, preview.params["token"])  # queued: not run on commit here
    job = Job.objects.get(kind="lead_import")
    Job.objects.filter(pk=job.pk).update(  # claimed by a worker that died reading the file
        status=JobStatus.RUNNING,
        claim_token="dead-worker",
        attempts=1,
        lease_until=timezone.now() - timedelta(seconds=1),
    )
    assert job_sweep()["resumed"] == 1
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.result.startswith("1 lead aggiunti")
    assert CallRecord.objects.count() == 1


def test_a_failed_import_removes_its_file_at_once_and_riprova_says_why_it_cannot(
    admin_client, campaign, upload, monkeypatch, deliver
):
    preview = upload("leads.csv", b"customer_name,tel1\nAnna,3471234567\n")
    token = preview.params["token"]

    def broken(**kwargs):
        raise RuntimeError("disk error")

    monkeypatch.setattr(callcenter_admin, "call_records_save", broken)
    with deliver():
        confirm(admin_client, campaign, token)
    job = Job.objects.get(kind="lead_import")
    assert job.status == JobStatus.FAILED and "disk error" in job.result
    assert not (IMPORT_DIR / token).exists()
    html = page(admin_client, job)
    assert 'id="job-retry-blocked"' in html and 'id="job-retry"' not in html
    response = admin_client.post(reverse("admin:core_job_retry", args=[job.pk]), follow=True)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and response.status_code == 200
    # The preview's page no longer offers Importa for a file that is gone.
    assert 'id="import-confirm"' not in page(admin_client, preview)
    assert 'id="import-expired"' in page(admin_client, preview)


def test_an_import_whose_worker_stopped_while_the_file_is_there_can_be_retried(
    admin_client, campaign, upload, deliver
):
    """Riprova for a lead import runs it while it can still run: here its file is still there
    (an import failed by the code before this one, which kept the file)."""
    preview = upload("leads.csv", b"customer_name,tel1\nAnna,3471234567\n")
    job = Job.objects.create(
        kind="lead_import",
        label="import",
        params={"campaign": campaign.pk, "token": preview.params["token"], "rows": 1},
        status=JobStatus.FAILED,
        result="stopped",
    )
    with deliver():
        admin_client.post(reverse("admin:core_job_retry", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and CallRecord.objects.count() == 1


def test_confirming_an_import_while_the_broker_is_down_answers_normally(
    admin_client, campaign, upload, monkeypatch, django_capture_on_commit_callbacks
):
    preview = upload("leads.csv", b"customer_name,tel1\nAnna,3471234567\n")

    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with monkeypatch.context() as outage:
        outage.setattr(job_run_task, "delay", refuse)
        with django_capture_on_commit_callbacks(execute=True):
            response = confirm(admin_client, campaign, preview.params["token"])
    job = Job.objects.get(kind="lead_import")
    assert response.status_code == 302 and job.status == JobStatus.QUEUED
    assert not CallRecord.objects.exists()
    job_sweep(now=timezone.now() + timedelta(minutes=5))  # the broker is back
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and CallRecord.objects.count() == 1


def test_a_token_that_is_not_a_preview_of_this_campaign_imports_nothing(
    admin_client, campaign, upload
):
    preview = upload("leads.csv", b"customer_name,tel1\nAnna,3471234567\n")
    other = CallCampaign.objects.create(remote_campaign_id="43", name="Altra")
    response = confirm(admin_client, other, preview.params["token"])
    assert response["Location"] == reverse("admin:callcenter_import", args=[other.pk])
    response = confirm(admin_client, campaign, "../../settings.py")
    assert response["Location"] == reverse("admin:callcenter_import", args=[campaign.pk])
    assert not Job.objects.filter(kind="lead_import").exists()
