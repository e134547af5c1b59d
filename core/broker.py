"""kombu's filesystem transport (the embedded default's broker), with two fixes.

- An atomic put. kombu 5.7 creates the message file, then writes it: a worker that lists the
  folder in between reads an empty file, fails to decode it and stops for good ("Unrecoverable
  error: JSONDecodeError"), which a benchmark publishing a few hundred tasks a second showed
  within seconds. Here the message is written under a name the reader skips, then renamed into
  place, which is atomic within a folder.
- A get that lists the folder once for many messages. kombu lists and sorts the whole folder
  for every message it takes, so with a backlog of 2,000 tasks the worker spent more on
  finding each one than on running it. Messages that arrive meanwhile are taken at the next
  listing; a name another worker took first is skipped."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections import deque
from queue import Empty
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads


class Channel(filesystem.Channel):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._listed: dict[str, deque[str]] = {}

    def _get(self, queue):
        names = self._listed.setdefault(queue, deque())
        if not names:
            wanted = f"{queue}.msg"
            names.extend(
                sorted(n for n in os.listdir(self.data_folder_in) if n.partition(".")[2] == wanted)
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
