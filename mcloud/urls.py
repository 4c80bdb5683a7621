from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import FileResponse, Http404, HttpRequest
from django.urls import include, path, re_path
from django.views.decorators.cache import cache_control

from inventory.views.dashboard import dashboard
from mcloud.api.errors import unknown_route
from mcloud.api.main import api
from mcloud.health import health

# Staff sign in to the admin through allauth too, so MFA and rate limits apply there.
# (allauth's documented way; the stubs see a method replaced.)
admin.site.login = login_required(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "mcloud administration"
admin.site.site_title = "mcloud admin"


@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> FileResponse:
    """/favicon.ico, which browsers and tools ask for whatever the page's <link> says."""
    found = finders.find("img/favicon.ico")
    if not isinstance(found, str):  # a file of static/, so only a broken install lacks it
        raise Http404
    return FileResponse(open(found, "rb"), content_type="image/x-icon")


urlpatterns = [
    path("", dashboard, name="home"),
    path("favicon.ico", favicon, name="favicon"),
    path("health", health, name="health"),
    path("api/", api.urls),
    re_path(r"^api/(?P<path>.*)$", unknown_route),  # JSON, not the HTML 404 page
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("", include("inventory.urls")),
    path("", include("provisioning.urls")),
    path("", include("billing.urls")),
]
