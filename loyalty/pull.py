"""Pull from AMM: programs (`fidelity/list`), cards (`card/list`, paginated, incremental with
fromDate) and, on request, their point records (`record/list`), with bulk upserts."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import copy_context
from datetime import datetime
from typing import Any

from django.db import connection, connections, models, router, transaction
from django.db.models import Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.models import SyncStatus
from core.pull import DriftLine, DriftReport, ProgressCallback, pull_register
from loyalty.amm import PAGE_SIZE, PAGES_AHEAD, RemoteCard, RemoteRecord, Submit, amm_client
from loyalty.models import FidelityCard, FidelityProgram, MovementAction, PointMovement
from loyalty.sync import CLOCK_SKEW, card_fields_from_remote

CARD_UPDATE_FIELDS = ("code", "active", "activation_date", "remote_points", "remote_data")


def amm_pull(
    *,
    dry_run: bool,
    progress: ProgressCallback,
    full: bool = False,
    movements: bool = False,
    **options,
) -> DriftReport:
    """Programs, then every card of each program, page by page; with `movements`, records.

    AMM has no call listing the records made since a time across cards: the record list that
    takes a date ("fromDate | Data dell'operazione sulla Fidelity Card") is one card's, and the
    card list's date is the card's issue date ("Data di emissione della Fidelity Card"). So the
    balance of every card is read from the card list itself (it carries each card's points, a
    thousand cards a call, where asking each card for its records would be a call a card), and:

    - without `full` only what changed is written: new cards, and known cards whose balance at
      AMM (or code, state, activation date) moved since they were last read; with `movements`,
      the records made since the last pull (less CLOCK_SKEW) of those cards only, plus every
      record of the new ones;
    - with `full` every known card is written again, and with `movements` every card's records
      are read from the start.

    The time the pull started is stored as the time it pulled up to (`cards_pulled_until`): a
    record made while it ran is read again next time (a known record is never imported twice)."""
    client = amm_client()
    report = DriftReport(provider="AMM", dry_run=dry_run)
    started = timezone.now()
    write = not dry_run
    # No transaction is held across a call to AMM: on SQLite a writer that waits on the network
    # would lock out everybody else (the sandbox included). Each page is written on its own,
    # while the next one is prepared (`read_ahead`) and the ones after it are read.
    for remote_program in client.list_programs():
        with transaction.atomic():
            program = _upsert_program(remote_program, report, write=write)
        since = None if full else program.cards_pulled_until
        moved: list[tuple[str, datetime | None]] = []  # remote ids whose records to read, since
        with lent_threads(PAGES_AHEAD) as submit:
            pages = (
                (page, cards, _card_insert(program, cards) if write and cards else None)
                for page, cards in client.iter_cards(
                    program.remote_id, page_size=PAGE_SIZE, submit=submit
                )
            )
            with read_ahead(pages) as pages_read_ahead:
                for page, cards, insert in pages_read_ahead:
                    moved += _upsert_cards(program, cards, insert, report, write=write, since=since)
                    done = page.offset + len(cards)
                    # Without AMM's metadata the total is not known: what came so far.
                    progress(program.name[:24], done, done if page.count is None else page.count)
        if movements and write:
            _pull_movements(program, report, progress, None if since is None else moved)
        if write:
            program.cards_pulled_until = started
            program.pulled_at = started
            program.save(update_fields=["cards_pulled_until", "pulled_at"])
    return report


@contextmanager
def lent_threads(count: int) -> Iterator[Submit | None]:
    """A `submit(function, *args) -> Future` running the calls in `count` threads, each in a
    copy of the caller's context and language, with its database connection (the call log
    writes there) closed after it; the threads have ended on the way out.

    None inside a transaction of the caller's: another connection would not see what that
    transaction wrote (and the caller may rely on it)."""
    if connection.in_atomic_block:
        yield None
        return
    language = translation.get_language()  # not in the context: asgiref keeps it per thread

    def run(function, *args):
        try:
            with translation.override(language):
                return function(*args)
        finally:
            connections.close_all()

    pool = ThreadPoolExecutor(max_workers=count, thread_name_prefix="amm-read")
    try:
        yield lambda function, *args: pool.submit(copy_context().run, run, function, *args)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # after an error: nothing more asked


_END = object()


@contextmanager
def read_ahead[T](items: Iterator[T]) -> Iterator[Iterator[T]]:
    """`items`, each next one taken in a second thread while the caller works on the current one.

    For lists read over HTTP: the provider prepares page N+1 while page N is written here. The
    items come in order and an error raised taking one is raised where the caller asks for it,
    after every earlier item was handled. Each item is taken in a copy of the caller's context
    (its language, the call log's). The thread's own database connection (the call log writes
    there) is closed on the way out, after the read in flight, if any, has ended.

    Inside a transaction of the caller's the items are taken in the caller's thread: another
    connection would not see what that transaction wrote (and the caller may rely on it)."""
    if connection.in_atomic_block:
        yield items
        return
    language = translation.get_language()  # not in the context: asgiref keeps it per thread

    def take_next() -> Any:
        with translation.override(language):
            return next(items, _END)

    def ahead(executor: ThreadPoolExecutor) -> Iterator[T]:
        future = executor.submit(copy_context().run, take_next)
        while True:
            item = future.result()
            if item is _END:
                return
            future = executor.submit(copy_context().run, take_next)
            yield item

    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead")
    try:
        yield ahead(executor)
    finally:
        executor.submit(connections.close_all)
        executor.shutdown(wait=True)


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


def _card_insert(program: FidelityProgram, cards: list[RemoteCard]) -> _Insert:
    """The INSERT of a page of cards as if they were all new, prepared before the transaction
    that writes the page opens (on SQLite everybody else waits to write while it is open)."""
    now = timezone.now()
    return _Insert(
        FidelityCard,
        [_new_card_fields(remote) for remote in cards],
        program_id=program.pk,
        sync_status=SyncStatus.SYNCED,
        synced_at=now,
        last_sync_attempt_at=now,
        created_at=now,
    )


def _upsert_cards(
    program: FidelityProgram,
    cards: list[RemoteCard],
    insert: _Insert | None,
    report: DriftReport,
    *,
    write: bool,
    since: datetime | None = None,
) -> list[tuple[str, datetime | None]]:
    """One page of cards, in one transaction: the new ones inserted (with `insert`, made by
    `_card_insert` for these cards), the known ones updated: all of them on a full pull
    (`since` None), only those that changed on an incremental one.

    Returns the cards whose records an incremental pull reads, each with the time to read them
    from: a new card from the start (None), a known card whose balance at AMM moved since the
    last pull (`since`, less CLOCK_SKEW)."""
    moved: list[tuple[str, datetime | None]] = []
    records_since = None if since is None else since - CLOCK_SKEW
    with transaction.atomic():
        # Looked up by remote id alone (unique): with the program in the query SQLite walks the
        # program's index, every card of the program for every page.
        known = (
            {}
            if program.pk is None
            else {
                card.remote_id: card
                for card in FidelityCard.objects.filter(remote_id__in=[c.id for c in cards]).only(
                    "id",
                    "program_id",
                    "remote_id",
                    "code",
                    "points",
                    "remote_points",
                    "active",
                    "activation_date",
                )
                if card.program_id == program.pk
            }
        )
        new: list[int] = []
        changed = []
        for index, remote in enumerate(cards):
            card = known.get(remote.id)
            if card is None:
                new.append(index)
                moved.append((remote.id, None))
                report.add("only_remote", DriftLine("card", remote.code, remote_id=remote.id))
                continue
            fields = card_fields_from_remote(remote)
            if since is not None and remote.points != card.remote_points:
                moved.append((remote.id, records_since))
            if since is None or any(getattr(card, name) != value for name, value in fields.items()):
                for name, value in fields.items():
                    setattr(card, name, value)
                card.remote_data = remote.raw
                changed.append(card)
            if remote.points is not None and card.points != remote.points:
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
            if write and insert is not None:
                insert.execute(new)
            report.imported["card"] = report.imported.get("card", 0) + len(new)
        if changed and write:
            FidelityCard.objects.bulk_update(changed, CARD_UPDATE_FIELDS, batch_size=500)
    return moved


def _new_card_fields(remote: RemoteCard) -> dict[str, Any]:
    return {
        **card_fields_from_remote(remote),
        # No movements of it are known yet: its balance opens the account here (a balance AMM
        # did not report opens at zero, and stays "not known" beside it).
        "starting_points": remote.points or 0,
        "points": remote.points or 0,
        "remote_id": remote.id,
        "remote_data": remote.raw,
    }


class _Insert:
    """An INSERT of `rows` (field attname → value, the same fields in each), prepared now and
    executed later, for some or all of them, in one executemany.

    `same` holds the values common to every row (by attname); the fields' defaults fill in the
    others (no `pre_save`: give auto_now(_add) fields a value). What bulk_create would do
    without its costs: it builds a model instance per row and prepares every value through its
    field (three quarters of a 100,000-card import). Here only the values that need it (dates,
    JSON…) go through their field. No signals, as with bulk_create; no primary keys read back."""

    def __init__(self, model: type[models.Model], rows: list[dict[str, Any]], **same: Any):
        meta = model._meta
        self.alias = router.db_for_write(model)
        db = connections[self.alias]  # this thread's; `execute` may run in another one
        varying = [meta.get_field(name) for name in rows[0]]
        fixed = [
            field
            for field in meta.concrete_fields
            if field.attname not in rows[0] and (field.attname in same or not field.primary_key)
        ]
        # Column by column: str, int, bool and None go to the database as they are, except into
        # a JSON column; a column holding anything else goes through its field.
        plain = {str, int, bool, type(None)}
        columns = []
        for field in varying:
            column = [row[field.attname] for row in rows]
            if isinstance(field, models.JSONField) or not plain.issuperset(map(type, column)):
                prepare = field.get_db_prep_save
                column = [prepare(value, db) for value in column]
            columns.append(column)
        fixed_values = tuple(
            field.get_db_prep_save(same.get(field.attname, field.get_default()), db)
            for field in fixed
        )
        self.values = [(*values, *fixed_values) for values in zip(*columns, strict=True)]
        quote = db.ops.quote_name
        names = ", ".join(quote(field.column) for field in varying + fixed)
        self.head = f"INSERT INTO {quote(meta.db_table)} ({names}) VALUES "  # noqa: S608
        self.row = "(" + ", ".join(["%s"] * (len(varying) + len(fixed))) + ")"
        self.fields = varying + fixed

    def execute(self, indexes: list[int]) -> None:
        """Insert the rows at these positions of `rows`, as many a statement as the database
        takes (a statement is one call into SQLite: executemany would make one a row, each
        giving up Python's lock to the reading threads and waiting to get it back)."""
        db = connections[self.alias]
        rows = [self.values[index] for index in indexes]
        size = db.ops.bulk_batch_size(self.fields, rows)
        with db.cursor() as cursor:
            for start in range(0, len(rows), size):
                batch = rows[start : start + size]
                cursor.execute(
                    self.head + ", ".join([self.row] * len(batch)),
                    [value for row in batch for value in row],
                )


def _pull_movements(
    program: FidelityProgram,
    report: DriftReport,
    progress,
    moved: list[tuple[str, datetime | None]] | None = None,
) -> None:
    """Import each card's records made elsewhere (AMM console, other tills): every record of
    every card (`moved` None), or those of the cards `_upsert_cards` named, each from its time."""
    client = amm_client()
    cards = program.cards.exclude(remote_id=None).exclude(code="")
    if moved is None:
        chosen = [(card, None) for card in cards]
    else:
        since = dict(moved)  # read through, not as an IN list: it may hold many thousands
        chosen = [
            (card, since[card.remote_id])
            for card in (cards.iterator() if since else [])
            if card.remote_id in since
        ]
    for done, (card, from_date) in enumerate(chosen, start=1):
        records = list(client.iter_records(program.remote_id, card.code, from_date=from_date))
        with transaction.atomic():
            _store_records(card, records, report)
        progress(_("records"), done, len(chosen))


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
