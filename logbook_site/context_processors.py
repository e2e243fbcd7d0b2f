from django.conf import settings


def site_url(request):
    """The address printed on QR labels and wall links, and whether it is one only this server can open."""
    return {"site_url": settings.SITE_URL, "site_url_is_loopback": settings.SITE_URL_IS_LOOPBACK}
