"""kombu's filesystem transport (the embedded default's broker) with an atomic put.

kombu 5.7 creates the message file, then writes it: a worker that lists the folder in between
reads an empty file, fails to decode it and stops for good ("Unrecoverable error:
JSONDecodeError"), which a benchmark publishing a few hundred tasks a second showed within
seconds. Here the message is written under a name the reader skips, then renamed into place,
which is atomic within a folder."""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
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
