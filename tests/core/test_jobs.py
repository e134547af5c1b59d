"""Jobs are kept like the outbox's rows (core/jobs.py): committed with the request and published
on commit, never a 500 when the broker is down; one claim per job, its end written only while
the claim holds; a job whose worker stopped is taken back by the sweeper — run again when its
kind is resumable, failed with the reason otherwise — and **Riprova** queues a failed job."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError

from core import jobs
from core.jobs import (
    JobLost,
    job_checkpoint,
    job_retry,
    job_run,
    job_runner_register,
    job_start,
    job_sweep,
)
from core.models import Job, JobStatus
from core.tasks import job_run_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down():
    """Publishing fails as it does when Redis is unreachable; `.restore()` brings it back."""

    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    outage = pytest.MonkeyPatch()
    outage.setattr(job_run_task, "delay", refuse)
    outage.restore = outage.undo
    yield outage
    outage.undo()


@pytest.fixture
def kinds():
    """Register job kinds for one test: kinds("name", runner, resumable=True)."""
    added = []

    def register(kind, runner, **options):
        job_runner_register(kind, runner, **options)
        added.append(kind)

    yield register
    for kind in added:
        jobs._kinds.pop(kind, None)


def running(kind: str, *, lease_age: timedelta, attempts: int = 1, **fields) -> Job:
    """A job a worker claimed, whose lease ran out `lease_age` ago (the worker stopped)."""
    return Job.objects.create(
        kind=kind,
        label=f"job {kind}",
        status=JobStatus.RUNNING,
        claim_token="dead-worker",
        lease_until=timezone.now() - lease_age,
        attempts=attempts,
        enqueued_at=timezone.now() - timedelta(minutes=10),
        **fields,
    )


def later(seconds: float) -> timezone.datetime:
    return timezone.now() + timedelta(seconds=seconds)


# --- the broker down -------------------------------------------------------------------------
def test_a_pull_started_while_the_broker_is_down_answers_normally_and_the_sweeper_runs_it(
    admin_client, broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:campaigns_pull"), {"mode": "compare"})
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:core_job_change", args=[job.pk])
    assert job.status == JobStatus.QUEUED  # waits for the sweeper
    assert admin_client.get(response["Location"]).status_code == 200

    assert job_sweep(now=later(5))["published"] == 0  # too early to call it lost: not yet
    assert job_sweep(now=later(settings.JOBS["REQUEUE_AFTER_SECONDS"] + 1))["published"] == 1
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED  # still down: it keeps waiting, nothing raised

    broker_down.restore()
    assert job_sweep(now=later(2 * settings.JOBS["REQUEUE_AFTER_SECONDS"] + 2))["published"] == 1
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.DONE, 1)


def test_the_sweeper_is_a_beat_task(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["job-sweep"]
    assert entry["task"] == "core.tasks.job_sweep_task" and entry["schedule"] <= 60
    from core.tasks import job_sweep_task

    assert job_sweep_task.name == entry["task"]


# --- one claim, and the end written only while it holds -----------------------------------------
def test_a_job_run_twice_runs_once(kinds, deliver):
    runs = []
    kinds("test_once", lambda job, progress: runs.append(job.pk) or "ok")
    with deliver():
        job = job_start(kind="test_once", label="once")
    job_run(job_id=job.pk)  # the broker handed it out twice
    job.refresh_from_db()
    assert runs == [job.pk] and (job.status, job.result, job.attempts) == (JobStatus.DONE, "ok", 1)
    assert job.claim_token and job.lease_until is None


def test_a_worker_whose_job_was_taken_back_writes_neither_its_end_nor_its_progress(kinds):
    seen = {}

    def runner(job, progress):
        progress("first half", 1, 2)
        seen["lease"] = Job.objects.get(pk=job.pk).lease_until
        # Meanwhile its lease ran out and another worker claimed the job.
        Job.objects.filter(pk=job.pk).update(claim_token="another-worker")
        try:
            progress("second half", 2, 2)
        except JobLost:
            seen["lost"] = True
        return "written by a worker that no longer holds the job"

    kinds("test_taken", runner)
    job = Job.objects.create(kind="test_taken", label="taken")
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert seen["lost"] and seen["lease"] > timezone.now()
    assert (job.status, job.claim_token, job.result, job.step) == (
        JobStatus.RUNNING,
        "another-worker",
        "",
        "first half",
    )


def test_a_failure_after_the_job_was_taken_back_is_not_written(kinds):
    def runner(job, progress):
        Job.objects.filter(pk=job.pk).update(claim_token="another-worker")
        raise RuntimeError("late failure")

    kinds("test_late_fail", runner)
    job = Job.objects.create(kind="test_late_fail", label="late")
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.result) == (JobStatus.RUNNING, "")


def test_progress_renews_the_lease(kinds):
    leases = []

    def runner(job, progress):
        Job.objects.filter(pk=job.pk).update(lease_until=timezone.now())  # about to expire
        progress("working", 1, 1)
        leases.append(Job.objects.get(pk=job.pk).lease_until)
        return "ok"

    kinds("test_heartbeat", runner)
    job = Job.objects.create(kind="test_heartbeat", label="heartbeat")
    job_run(job_id=job.pk)
    lease = timedelta(seconds=settings.JOBS["LEASE_SECONDS"])
    assert leases[0] > timezone.now() + lease - timedelta(seconds=30)


def test_a_checkpoint_is_kept_only_while_the_job_is_ours(kinds):
    def runner(job, progress):
        job_checkpoint(job, {"step": 1})
        Job.objects.filter(pk=job.pk).update(claim_token="another-worker")
        with pytest.raises(JobLost):
            job_checkpoint(job, {"step": 2})
        return "ok"

    kinds("test_checkpoint", runner)
    job = Job.objects.create(kind="test_checkpoint", label="checkpoint")
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.checkpoint == {"step": 1}


# --- a worker that stopped -------------------------------------------------------------------------
def test_a_running_job_whose_worker_stopped_is_failed_with_the_reason(kinds):
    cleaned = []
    kinds("test_plain", lambda job, progress: "ok", on_failure=lambda job: cleaned.append(job.pk))
    alive = running("test_plain", lease_age=-timedelta(minutes=1))  # lease still running
    dead = running("test_plain", lease_age=timedelta(seconds=1))

    assert job_sweep() == {"resumed": 0, "failed": 1, "published": 0}
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.status == JobStatus.FAILED and dead.finished_at
    assert dead.result == _("The worker running this job stopped before it finished.")
    assert cleaned == [dead.pk]  # its kind cleans up (a lead import removes its file)
    assert alive.status == JobStatus.RUNNING
    assert job_sweep() == {"resumed": 0, "failed": 0, "published": 0}  # once


def test_a_running_job_left_by_the_old_code_without_a_lease_is_taken_back(kinds):
    kinds("test_plain", lambda job, progress: "ok")
    job = Job.objects.create(kind="test_plain", label="legacy", status=JobStatus.RUNNING)
    assert job_sweep()["failed"] == 1
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


def test_a_resumable_job_whose_worker_stopped_runs_again_and_continues(kinds):
    def runner(job, progress):
        done = job.checkpoint.get("done", 0)  # where the stopped worker got to
        job_checkpoint(job, {"done": 3})
        return f"continued from {done}"

    kinds("test_resumable", runner, resumable=True)
    job = running("test_resumable", lease_age=timedelta(seconds=1), checkpoint={"done": 2})

    assert job_sweep()["resumed"] == 1
    job.refresh_from_db()
    assert (job.status, job.result, job.attempts) == (JobStatus.DONE, "continued from 2", 2)


def test_a_resumable_job_that_keeps_stopping_its_worker_is_failed_after_max_runs(kinds):
    kinds("test_resumable", lambda job, progress: "ok", resumable=True)
    runs = settings.JOBS["MAX_RUNS"]
    job = running("test_resumable", lease_age=timedelta(seconds=1), attempts=runs)
    assert job_sweep()["failed"] == 1
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.result == _(
        "The worker running this job stopped %(n)d times before it finished; it was not "
        "started again."
    ) % {"n": runs}


def test_a_job_resumed_by_the_sweeper_while_the_broker_is_down_waits_queued(kinds, broker_down):
    kinds("test_resumable", lambda job, progress: "ok", resumable=True)
    job = running("test_resumable", lease_age=timedelta(seconds=1))
    assert job_sweep()["resumed"] == 1
    job.refresh_from_db()
    assert (job.status, job.claim_token, job.lease_until) == (JobStatus.QUEUED, "", None)


# --- Riprova ---------------------------------------------------------------------------------
@pytest.fixture
def failed_pull():
    """A pull that failed (the provider refused it, say): a pull whose worker died is resumable
    and runs again by itself, so this one failed for another reason."""
    job = running("pull", lease_age=timedelta(seconds=1))
    job.params = {"provider": "volantinopiu", "dry_run": True}
    job.status = JobStatus.FAILED
    job.result = "The job failed: VolantinoPiù is not answering."
    job.finished_at = timezone.now()
    job.claim_token = ""
    job.lease_until = None
    job.save()
    return job


def test_riprova_on_the_page_of_a_failed_job_runs_it_again(admin_client, failed_pull, deliver):
    page = admin_client.get(reverse("admin:core_job_change", args=[failed_pull.pk]))
    html = page.content.decode()
    assert 'id="job-retry"' in html and 'data-finished="1"' in html
    with deliver():
        response = admin_client.post(reverse("admin:core_job_retry", args=[failed_pull.pk]))
    assert response["Location"] == reverse("admin:core_job_change", args=[failed_pull.pk])
    failed_pull.refresh_from_db()
    assert (failed_pull.status, failed_pull.attempts) == (JobStatus.DONE, 1)
    assert failed_pull.result  # the pull's report


def test_riprova_as_an_action_of_the_job_list(admin_client, failed_pull, deliver):
    with deliver():
        admin_client.post(
            reverse("admin:core_job_changelist"),
            {"action": "retry", "_selected_action": [failed_pull.pk]},
        )
    failed_pull.refresh_from_db()
    assert failed_pull.status == JobStatus.DONE


def test_riprova_is_refused_to_who_may_only_read(failed_pull):
    call_command("createuser", "revisore", "--role", "auditor", "--password", "pw-Lungo-123!")
    client = Client()
    client.force_login(get_user_model().objects.get(username="revisore"))
    page = client.get(reverse("admin:core_job_change", args=[failed_pull.pk])).content.decode()
    assert 'id="job-retry"' not in page
    response = client.post(reverse("admin:core_job_retry", args=[failed_pull.pk]))
    assert response.status_code == 403
    failed_pull.refresh_from_db()
    assert failed_pull.status == JobStatus.FAILED


def test_riprova_leaves_a_job_that_did_not_fail_alone(kinds):
    kinds("test_plain", lambda job, progress: "ok")
    job = running("test_plain", lease_age=-timedelta(minutes=1))
    assert job_retry(job=job) is False
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING


def test_a_job_page_followed_live_is_shown_again_when_it_ends(admin_client, kinds):
    kinds("test_plain", lambda job, progress: "ok")
    job = Job.objects.create(kind="test_plain", label="queued")
    page = admin_client.get(reverse("admin:core_job_change", args=[job.pk])).content.decode()
    assert 'data-finished="0"' in page and "live_progress.js" in page


def test_a_pull_whose_worker_died_runs_again_by_itself(deliver):
    """A pull is safe to run again (it compares, then imports what is missing): taken back
    from a dead worker, it runs again rather than failing."""
    job = running(
        "pull", lease_age=timedelta(seconds=1), params={"provider": "volantinopiu", "dry_run": True}
    )

    with deliver():
        job_sweep()

    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.DONE, 2)
    assert job.result
