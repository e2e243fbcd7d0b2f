from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from floor import roles


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    current: bool


# The main navigation: (label, URL name, the permission that opens the page, the URL names it is current on).
# Each page checks the same permission itself; this only hides what would answer 403.
NAVIGATION = [
    ("Machines", "machine_list", "floor.view_issue", {"machine_list"}),
    ("Desk", "desk", "floor.view_desk", {"desk"}),
    ("QR labels", "labels", "floor.print_labels", {"labels"}),
    ("Dashboard", "dashboard", "floor.view_dashboard", {"dashboard", "display_links"}),
    ("Notifications", "notifications", "floor.view_desk", {"notifications", "subscription"}),
]


def navigation(request):
    """The links of the main navigation this person may follow, the current page's marked."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"navigation": []}
    here = request.resolver_match.url_name if request.resolver_match else None
    return {"navigation": [NavLink(label, reverse(name), here in current)
                           for label, name, permission, current in NAVIGATION if user.has_perm(permission)]}


def outbox(request):
    """Whether this person's pages carry the tablet's outbox (floor.roles.uses_outbox)."""
    user = getattr(request, "user", None)
    return {"uses_outbox": bool(user) and roles.uses_outbox(user)}


def site_url(request):
    """The address printed on QR labels and wall links, and whether it is one only this server can open."""
    return {"site_url": settings.SITE_URL, "site_url_is_loopback": settings.SITE_URL_IS_LOOPBACK}
