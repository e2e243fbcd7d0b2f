"""Locks that serialise work on one thing (a floor form, a machine) across web processes and the worker."""

import hashlib

from django.db import connection


def hold(name):
    """Wait for, then hold until the surrounding transaction ends, the lock called `name`.

    On PostgreSQL a transaction-scoped advisory lock: it needs no table and no UPDATE right on anyone's
    rows (row locks on the ERP's machine table would). SQLite runs one writing transaction at a time
    anyway (transactions begin IMMEDIATE, see settings), so there it has nothing to do.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("locks.hold() is only meaningful inside transaction.atomic().")
    if connection.vendor == "postgresql":
        key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
