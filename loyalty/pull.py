"""Pull from AMM: programs (`fidelity/list`), cards (`card/list`, paginated, incremental with
fromDate) and, on request, their point records (`record/list`), with bulk upserts."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import SyncStatus
from core.pull import DriftLine, DriftReport, ProgressCallback, pull_register
from loyalty.amm import PAGE_SIZE, RemoteCard, RemoteRecord, amm_client
from loyalty.models import FidelityCard, FidelityProgram, MovementAction, PointMovement
from loyalty.sync import card_fields_from_remote

CARD_UPDATE_FIELDS = ("code", "active", "activation_date", "remote_points", "remote_data")


def amm_pull(
    *,
    dry_run: bool,
    progress: ProgressCallback,
    full: bool = False,
    movements: bool = False,
    **options,
) -> DriftReport:
    client = amm_client()
    report = DriftReport(provider="AMM", dry_run=dry_run)
    started = timezone.now()
    write = not dry_run
    # No transaction is held across a call to AMM: on SQLite a writer that waits on the network
    # would lock out everybody else (the sandbox included). Each page is written on its own.
    for remote_program in client.list_programs():
        with transaction.atomic():
            program = _upsert_program(remote_program, report, write=write)
        since = None if full else program.cards_pulled_until
        for page, cards in client.iter_cards(
            program.remote_id, from_date=since, page_size=PAGE_SIZE
        ):
            with transaction.atomic():
                _upsert_cards(program, cards, report, write=write)
            progress(program.name[:24], page.offset + len(cards), page.count)
        if movements and write:
            _pull_movements(program, report, progress)
        if write:
            program.cards_pulled_until = started
            program.pulled_at = started
            program.save(update_fields=["cards_pulled_until", "pulled_at"])
    return report


def _upsert_program(remote, report: DriftReport, *, write: bool) -> FidelityProgram:
    program = FidelityProgram.objects.filter(remote_id=remote.id).first()
    if program is None:
        report.add("only_remote", DriftLine("program", remote.name, remote_id=remote.id))
        report.count_imported("program")
        program = FidelityProgram(
            remote_id=remote.id, name=remote.name, point_value=remote.point_value
        )
        if write:
            program.save()
        return program
    # Programs are AMM's: what it says wins, and the change is reported.
    differences = {
        name: (getattr(program, name), value)
        for name, value in (("name", remote.name), ("point_value", remote.point_value))
        if getattr(program, name) != value
    }
    if differences:
        report.add(
            "different", DriftLine("program", program.name, program.pk, remote.id, differences)
        )
        program.name, program.point_value = remote.name, remote.point_value
        if write:
            program.save(update_fields=["name", "point_value"])
    else:
        report.count_in_step("program")
    return program


def _upsert_cards(
    program: FidelityProgram, cards: list[RemoteCard], report: DriftReport, *, write: bool
) -> None:
    now = timezone.now()
    known = (
        {}
        if program.pk is None
        else {
            card.remote_id: card
            for card in FidelityCard.objects.filter(
                program=program, remote_id__in=[c.id for c in cards]
            ).only("id", "remote_id", "code", "points", "remote_points", "active")
        }
    )
    new, changed = [], []
    for remote in cards:
        card = known.get(remote.id)
        if card is None:
            new.append(
                FidelityCard(
                    program=program,
                    **card_fields_from_remote(remote),
                    # No movements of it are known yet: its balance opens the account here.
                    starting_points=remote.points,
                    points=remote.points,
                    remote_id=remote.id,
                    remote_data=remote.raw,
                    sync_status=SyncStatus.SYNCED,
                    synced_at=now,
                    last_sync_attempt_at=now,
                )
            )
            continue
        for name, value in card_fields_from_remote(remote).items():
            setattr(card, name, value)
        card.remote_data = remote.raw
        changed.append(card)
        if card.points != remote.points:
            report.add(
                "different",
                DriftLine(
                    "card",
                    card.code,
                    card.pk,
                    remote.id,
                    {"points": (card.points, remote.points)},
                    note=_("balance differs: check the movements"),
                ),
            )
        else:
            report.count_in_step("card")
    if new:
        if write:
            FidelityCard.objects.bulk_create(new, batch_size=500)
        for card in new:
            report.add("only_remote", DriftLine("card", card.code, remote_id=card.remote_id))
        report.imported["card"] = report.imported.get("card", 0) + len(new)
    if changed and write:
        FidelityCard.objects.bulk_update(changed, CARD_UPDATE_FIELDS, batch_size=500)


def _pull_movements(program: FidelityProgram, report: DriftReport, progress) -> None:
    """Import each card's records made elsewhere (AMM console, other tills)."""
    client = amm_client()
    cards = list(program.cards.exclude(remote_id=None).exclude(code=""))
    for done, card in enumerate(cards, start=1):
        records = list(client.iter_records(program.remote_id, card.code))
        with transaction.atomic():
            _store_records(card, records, report)
        progress(_("records"), done, len(cards))


def _store_records(card: FidelityCard, records: list[RemoteRecord], report: DriftReport) -> None:
    known = set(card.movements.exclude(remote_id=None).values_list("remote_id", flat=True))
    fresh = [_movement_from_remote(card, r) for r in records if r.id not in known]
    if fresh:
        PointMovement.objects.bulk_create(fresh)
        report.imported["movement"] = report.imported.get("movement", 0) + len(fresh)
    imported_only_here = not card.created_by_id and card.customer_id is None
    total = card.movements.aggregate(s=Sum("points"))["s"] or 0
    if imported_only_here and card.remote_points is not None:
        # A card that came from AMM: its opening balance is what its records do not explain.
        card.starting_points = card.remote_points - total
    card.points = card.starting_points + total
    card.save(update_fields=["starting_points", "points"])


def _movement_from_remote(card: FidelityCard, record: RemoteRecord) -> PointMovement:
    now = timezone.now()
    return PointMovement(
        card=card,
        action=record.action if record.action in MovementAction.values else MovementAction.ADD,
        points=record.points,
        amount=record.amount,
        reward_id=record.reward_id,
        date=record.date or now,
        remote_id=record.id,
        remote_data=record.raw,
        sync_status=SyncStatus.SYNCED,
        synced_at=now,
        last_sync_attempt_at=now,
    )


pull_register("amm", amm_pull)
