import re
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from floor.models import Department


def new_display_token():
    # 32 random bytes: the token is the only thing between the street and the wall screen.
    return secrets.token_urlsafe(32)


# What new_display_token makes (URL-safe base64) in the token field's length.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,64}")


class DisplayLinkQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)

    def with_token(self, token):
        """The link with this token, if any. Anything else in the address (a NUL byte, which PostgreSQL
        refuses in a query, or ten kilobytes of junk) is no link: nothing is looked up."""
        if not TOKEN_SHAPE.fullmatch(token):
            return self.none()
        return self.filter(token=token)


class DisplayLink(models.Model):
    """A read-only link to the wall screen, for a TV on the shop floor that has no user signed in.

    Whoever has the link sees the wall screen's figures (nothing else) until a manager revokes it."""

    token = models.CharField(max_length=64, unique=True, default=new_display_token, editable=False)
    name = models.CharField(max_length=100, help_text="Where the screen hangs, e.g. “Hall A, by the door”.")
    # Unmanaged factory table: no database constraint, as for Issue.machine.
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+",
        help_text="Show one department only; empty for the whole factory.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = DisplayLinkQuerySet.as_manager()

    class Meta:
        ordering = ["revoked_at", "-created_at"]

    def __str__(self):
        return self.name

    @property
    def is_active(self):
        return self.revoked_at is None

    def revoke(self):
        """Stop the link from working; the screen shows a plain 404 at its next refresh."""
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])
