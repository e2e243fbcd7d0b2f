"""
Photos from the floor form: stored, then read for alarm codes without holding up the web server.

Reading a photo costs about half a second of CPU. Done inside web requests, fifty tablets sending photos
at once held every worker and the desk and dashboard waited seconds for a turn. So each server process
has one reader: a thread that queues the photos, and a child process of its own that reads them at low
CPU priority (its Tesseract inherits it). A process, not a thread: the image work then never holds the
server's interpreter lock, a reader starved of CPU by its low priority cannot stall the requests of its
process, and a crash in the image libraries costs one photo, not the server process. At most
`OCR_CONCURRENCY` readers read at once on the machine (one lock file each): photos queue for the cores
instead of fighting over them, and every other request keeps its CPU.

The request that uploaded a photo waits for its reading while its turn comes at once, so an operator
alone at a machine gets the codes in the same reply. When the readers are busy it answers at once with
the photo "being read", and the preview asks again (`current`). A photo whose turn does not come within
`QUEUE_SECONDS` is given up on ("busy"); one left "being read" by a process that died is given up on
once it is overdue. The codes a photo gives reach its issue when the report went out first
(`record_reading`).
"""

import fcntl
import logging
import multiprocessing
import os
import queue
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from floor import locks, ocr, uploads
from floor.models import Attachment, Issue
from floor.reporting import photo_read

log = logging.getLogger(__name__)

# A photo waits at most this long for a reader before it is given up on. Long enough for a whole hall
# reporting at once (fifty photos take about half a minute on two cores): no request waits meanwhile,
# and codes read after the report went out still reach its issue.
QUEUE_SECONDS = 120.0
# How much lower than the web server's the readers' CPU priority is (nice). At 10, a request that
# wants the CPU gets about nine tenths of a core against a reader.
NICENESS = 10
# The reading child's start (it imports the image libraries) and its answer's way back, beyond the
# reading's own time limit; a child silent for longer is killed and replaced.
CHILD_GRACE_SECONDS = 5.0
# A child reads this many photos, then a fresh one takes over: whatever the libraries leak stays small.
CHILD_PHOTOS = 200

Reading = Attachment.Reading

@dataclass
class Outcome:
    state: str
    result: ocr.OcrResult | None = None
    error: str = ""


@dataclass
class _Job:
    attachment_id: int | None  # None: a photo read for its caller alone, stored nowhere (`read_upload`)
    file_name: str = ""
    data: bytes | None = None
    queued_at: float = field(default_factory=time.monotonic)
    # Whoever is waiting for the outcome records it; once nobody waits, the reader does.
    waiting: bool = False
    outcome: Outcome | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: threading.Event = field(default_factory=threading.Event)


class _Reader:
    """One thread of this process that reads queued photos one after the other."""

    def __init__(self):
        self._queue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._outstanding = 0
        self._idle = threading.Condition(self._lock)
        self._thread = None

    def submit(self, job):
        """Queue a job; True when it was the only one (its reading begins at once)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="screen-reader", daemon=True)
                self._thread.start()
            self._outstanding += 1
            alone = self._outstanding == 1
        self._queue.put(job)
        return alone

    def wait_idle(self, timeout):
        """Wait until every queued photo has been read; False when that took longer than `timeout`."""
        with self._idle:
            return self._idle.wait_for(lambda: self._outstanding == 0, timeout=timeout)

    def _run(self):
        while True:
            job = self._queue.get()
            try:
                try:
                    outcome = _read(job)
                except Exception as e:  # whatever went wrong, the photo is not left "being read"
                    log.exception("Reading attachment %s failed", job.attachment_id)
                    outcome = Outcome(Reading.FAILED, error=f"{type(e).__name__}: {e}")
                _finish(job, outcome)
            except Exception:  # the thread must live on for the next photo
                log.exception("Recording the reading of attachment %s failed", job.attachment_id)
            finally:
                with self._idle:
                    self._outstanding -= 1
                    self._idle.notify_all()


_reader = _Reader()


class _Child:
    """The reading child process of this server process, started on the first photo and replaced when it
    hangs, dies or has read CHILD_PHOTOS photos."""

    def __init__(self):
        self._process = None
        self._connection = None
        self._photos = 0

    def read(self, data, *, timeout):
        if self._process is None or not self._process.is_alive() or self._photos >= CHILD_PHOTOS:
            self._start()
        self._photos += 1
        try:
            self._connection.send((data, timeout, settings.TESSERACT_CMD))
            if not self._connection.poll(timeout + CHILD_GRACE_SECONDS):
                self.stop()  # hung: a new child reads the next photo
                raise ocr.OcrTimeout(f"the reading process gave no answer within {timeout + CHILD_GRACE_SECONDS:g} s")
            kind, value = self._connection.recv()
        except (EOFError, OSError) as e:
            self.stop()  # died mid-photo (a crash in an image library)
            raise ocr.OcrError(f"the reading process stopped: {type(e).__name__}") from e
        if kind == "error":
            raise value
        return value

    def _start(self):
        self.stop()
        # Spawned, not forked: forking a process that runs threads can copy a held lock into the child.
        # The child runs the floor/ocr library alone (no models, no app registry).
        context = multiprocessing.get_context("spawn")
        self._connection, theirs = context.Pipe()
        self._process = context.Process(target=ocr.serve_readings, args=(theirs, NICENESS), daemon=True,
                                        name="logbook-screen-reader")
        self._process.start()
        theirs.close()
        self._photos = 0

    def stop(self):
        if self._process is not None:
            self._process.kill()
            self._process.join(timeout=5)
            self._connection.close()
            self._process = self._connection = None


_child = _Child()


def _read(job):
    """Read the job's photo when a slot on this machine is free; the outcome, never an exception."""
    slot = _Slot.take(until=job.queued_at + QUEUE_SECONDS)
    if slot is None:
        return Outcome(Reading.BUSY, error=f"no reader free within {QUEUE_SECONDS:g} s")
    try:
        if job.data is not None:
            data = job.data
        else:
            with default_storage.open(job.file_name, "rb") as f:
                data = f.read()
        result = _child.read(data, timeout=settings.OCR_TIMEOUT_SECONDS)
    except FileNotFoundError:
        return Outcome(Reading.FAILED, error="the photo is gone")
    except ocr.OcrTimeout as e:
        return Outcome(Reading.TIMEOUT, error=str(e))
    except ocr.OcrUnavailable as e:
        return Outcome(Reading.UNAVAILABLE, error=str(e))
    except ocr.OcrError as e:
        return Outcome(Reading.FAILED, error=str(e))
    finally:
        slot.release()
    return Outcome(Reading.READ, result=result)


def _finish(job, outcome):
    with job.lock:
        job.outcome = outcome
        job.done.set()
        if job.waiting or job.attachment_id is None:
            return  # the request that queued it records it, or nothing is to be recorded
    try:
        record_reading(attachment_id=job.attachment_id, outcome=outcome)
    finally:
        # This thread is no request: nothing else closes its database connection.
        close_old_connections()
        connection.close()


class _Slot:
    """One of OCR_CONCURRENCY lock files: held by the process that reads, released when it is done or
    dies (the kernel drops a dead process's locks)."""

    def __init__(self, fd):
        self._fd = fd

    @classmethod
    def take(cls, *, until):
        folder = Path(settings.OCR_SLOTS_DIR or Path(tempfile.gettempdir()) / f"machine-logbook-ocr-{os.getuid()}")
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        while True:
            for number in range(max(1, settings.OCR_CONCURRENCY)):
                fd = os.open(folder / f"slot-{number}", os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                return cls(fd)
            if time.monotonic() >= until:
                return None
            time.sleep(0.05)

    def release(self):
        os.close(self._fd)  # closing the file releases its lock


# --- what the views call ------------------------------------------------------------------------------
def receive(*, upload, by, token, issue=None, wait=True):
    """Store a file chosen in a floor form (floor/uploads.py), or added to `issue`, and have a photo
    read for alarm codes: the attachment, read when `wait` and a reader was free, else being read.
    Raises UploadRejected.

    A file the form (its token) had brought already is not stored or read again: the stored one is
    returned.
    """
    attachment = uploads.store_attachment(upload=upload, by=by, pending_token=token, issue=issue)
    if attachment.kind == Attachment.Kind.IMAGE and attachment.reading == Reading.NOT_READ:
        read(attachment, wait=wait)
    return attachment


def read(attachment, *, wait=True):
    """Have a stored photo read for alarm codes. With `wait`, and the reader free, wait for the reading
    (within OCR_TIMEOUT_SECONDS) and return the attachment with its codes; otherwise return it "being
    read" at once. Never raises for anything OCR does."""
    Attachment.objects.filter(pk=attachment.pk).update(reading=Reading.QUEUED, reading_error="")
    attachment.reading = Reading.QUEUED
    job = _Job(attachment_id=attachment.pk, file_name=attachment.file.name, waiting=wait)
    alone = _reader.submit(job)
    if not (wait and alone):
        with job.lock:
            job.waiting = False
            outcome = job.outcome
        if outcome is not None:  # read already, before we let go: nobody else will record it
            record_reading(attachment_id=attachment.pk, outcome=outcome)
            attachment.refresh_from_db()
        return attachment
    job.done.wait(timeout=settings.OCR_TIMEOUT_SECONDS + 1)
    with job.lock:
        job.waiting = False
        outcome = job.outcome
    if outcome is not None:
        record_reading(attachment_id=attachment.pk, outcome=outcome)
        attachment.refresh_from_db()
    return attachment


def read_upload(upload):
    """Read a photo for alarm codes without storing anything (the API's /api/ocr/): its Outcome, once
    a reader on this machine was free (within OCR_TIMEOUT_SECONDS) and the reading was done, or "busy".
    The same checks as a stored photo's first (UploadRejected), and the same readers: a caller reading
    photos this way takes its turn with the tablets, never more CPU."""
    inspected = uploads.inspect_upload(upload)
    if inspected.kind != Attachment.Kind.IMAGE:
        raise uploads.UploadRejected("This is a video; only photos can be read.")
    upload.seek(0)
    job = _Job(attachment_id=None, data=upload.read(), waiting=True,
               # No longer in the queue than the caller may wait; then the photo counts as "busy".
               queued_at=time.monotonic() - QUEUE_SECONDS + settings.OCR_TIMEOUT_SECONDS)
    _reader.submit(job)
    job.done.wait(timeout=2 * settings.OCR_TIMEOUT_SECONDS + CHILD_GRACE_SECONDS + 1)
    with job.lock:
        job.waiting = False
        return job.outcome or Outcome(Reading.BUSY, error="no reader was free in time")


def wait_until_read(timeout=60):
    """Wait until this process has read every photo queued in it (for commands and tests)."""
    return _reader.wait_idle(timeout)


def overdue_after():
    """How long a photo may stay "being read" before it counts as lost (its process died)."""
    return timedelta(seconds=QUEUE_SECONDS + settings.OCR_TIMEOUT_SECONDS + 10)


def current(attachment):
    """The attachment as it is now; one "being read" for longer than a reading can take is given up on."""
    attachment.refresh_from_db()
    if attachment.is_being_read and attachment.uploaded_at < timezone.now() - overdue_after():
        record_reading(attachment_id=attachment.pk,
                       outcome=Outcome(Reading.TIMEOUT, error="the reading was lost (the server restarted)"),
                       only_if_queued=True)
        attachment.refresh_from_db()
    return attachment


def record_reading(*, attachment_id, outcome, only_if_queued=False):
    """Store what reading a photo gave. When the photo already belongs to an issue that has no alarm
    code (the report went out while the photo was being read), the photo's codes become the issue's."""
    token = Attachment.objects.filter(pk=attachment_id).values_list("pending_token", flat=True).first()
    with transaction.atomic():
        if token:
            # The report's lock, taken first as the report takes it: either the report sees these codes,
            # or this sees its issue.
            locks.hold(f"form:{token}")
        attachment = Attachment.objects.select_for_update().filter(pk=attachment_id).first()
        if attachment is None or (only_if_queued and not attachment.is_being_read):
            return
        attachment.reading = outcome.state
        attachment.reading_error = outcome.error[:200]
        if outcome.result is not None:
            attachment.ocr_text = outcome.result.text
            attachment.ocr_alarm_codes = [{"code": c.code, "family": c.family, "line": c.line}
                                          for c in outcome.result.alarm_codes]
        attachment.save(update_fields=["reading", "reading_error", "ocr_text", "ocr_alarm_codes"])
        if attachment.issue_id and attachment.remedy_id is None:
            # The text read is part of what the desk's search looks in; the codes may be the issue's.
            photo_read(issue=Issue.objects.get(pk=attachment.issue_id), attachment=attachment)
