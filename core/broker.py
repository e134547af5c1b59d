"""kombu's filesystem transport (the embedded default's broker), with two fixes.

- An atomic put. kombu 5.7 creates the message file, then writes it: a worker that lists the
  folder in between reads an empty file, fails to decode it and stops for good ("Unrecoverable
  error: JSONDecodeError"), which a benchmark publishing a few hundred tasks a second showed
  within seconds. Here the message is written under a name the reader skips, then renamed into
  place, which is atomic within a folder.
- A get that lists the folder once for many messages, and for every queue. kombu lists and
  sorts the whole folder for every message it takes, so with a backlog of 2,000 tasks the
  worker spent more on finding each one than on running it. A worker also polls its remote
  control queue, which is always empty: listing the folder for it at every turn cost the
  worker's main process a third of its time under a backlog. One listing now fills every
  queue's list, and an empty list waits for the next polling turn. Messages that arrive
  meanwhile are taken at the next listing; a name another worker took first is skipped.

And a wait between looks that follows the work. kombu sleeps the whole polling interval after
every empty look, including the looks a busy worker makes while its prefetch is full: a task
ending then waited up to the interval for the next, and at the 0.05 s that keeps a lone change
quick and an idle worker cheap, a stream of shops went through at less than half the rate it
reached at 5 ms. Here a worker that just took a message looks again after `BUSY_INTERVAL`, and
each empty look doubles the wait, up to the polling interval when idle."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections import defaultdict, deque
from queue import Empty
from time import monotonic, sleep

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

# A busy worker's wait before looking again, and the least time between two listings.
BUSY_INTERVAL = 0.005


class FolderListing:
    """The message files of a queue folder, listed once for every queue and every channel of a
    worker (its tasks and its remote control have channels of their own), oldest first."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.listed_at = float("-inf")
        self.names: dict[str, deque[str]] = defaultdict(deque)

    def names_of(self, queue: str, *, relist_after: float) -> deque[str]:
        if not self.names[queue] and monotonic() - self.listed_at >= relist_after:
            self.listed_at = monotonic()
            listed: dict[str, deque[str]] = defaultdict(deque)
            # "<stamp>_<uuid>.<queue>.msg": a queue's name may hold dots, the stamp and uuid do
            # not; a ".….part" file is still being written.
            for name in sorted(os.listdir(self.folder)):
                stem, dot, queue_msg = name.partition(".")
                if stem and dot and queue_msg.endswith(".msg"):
                    listed[queue_msg.removesuffix(".msg")].append(name)
            self.names = listed
        return self.names[queue]


class Channel(filesystem.Channel):
    def _get(self, queue):
        # Within one polling turn kombu asks every queue of every channel once: one listing
        # serves them all, and a queue found empty waits for the next turn.
        relist_after = min(self.connection.polling_interval or 0.0, BUSY_INTERVAL) / 2
        names = self.connection.listing(self.data_folder_in).names_of(
            queue, relist_after=relist_after
        )
        processed = self.processed_folder if self.store_processed else tempfile.gettempdir()
        while names:
            name = names.popleft()
            try:
                shutil.move(os.path.join(self.data_folder_in, name), processed)
            except OSError:
                continue  # another worker took it
            path = os.path.join(processed, name)
            try:
                with open(path, "rb") as handle:
                    payload = handle.read()
                if not self.store_processed:
                    os.remove(path)
            except OSError as exc:
                raise ChannelError(f"Cannot read file {path!r} from queue.") from exc
            return loads(bytes_to_str(payload))
        raise Empty()

    def _put(self, queue, payload, **kwargs):
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # A leading dot: the reader takes only files named "<anything>.<queue>.msg".
        partial = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(partial, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._listings: dict[str, FolderListing] = {}
        self._wait = BUSY_INTERVAL

    def drain_events(self, connection, timeout=None):
        """kombu's loop (one message, or socket.timeout after `timeout`), with the wait above."""
        started = monotonic()
        while True:
            try:
                self.cycle.get(self._deliver, timeout=timeout)
            except Empty:
                if timeout is not None and monotonic() - started >= timeout:
                    raise TimeoutError() from None
                sleep(self.next_wait())
            else:
                self._wait = BUSY_INTERVAL
                return

    def next_wait(self) -> float:
        """The wait before the next look: doubled by each empty look, up to the interval."""
        idle = self.polling_interval if self.polling_interval is not None else 1.0
        wait, self._wait = min(self._wait, idle), min(self._wait * 2, idle)
        return wait

    def listing(self, folder: str) -> FolderListing:
        if folder not in self._listings:
            self._listings[folder] = FolderListing(folder)
        return self._listings[folder]
