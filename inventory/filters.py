"""The inventory's filters: one form, read from the URL, shared by the list, the VM list,
the CSV export and saved views."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from django import forms
from django.db import connection
from django.db.models import CharField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Lower
from django.http import QueryDict

from accounts.models import Organization
from inventory.attachments import attached_to_filter, unattached
from inventory.managed import managed_keys
from inventory.models import CloudAccount, Resource, ResourceType
from mcloud.clouds.registry import provider_choices

SORTS = {
    "name": "name",
    "type": "type",
    "provider": "provider",
    "region": "region",
    "status": "status",
    "last_seen": "last_seen",
    "cost": "monthly_cost",  # cost / month (see Resource.monthly_cost)
}
# Sorts whose ties break on the id in the sort's own direction: the index (organization,
# monthly_cost, id) then serves either direction, scanned forward or backward.
SAME_WAY_TIES = frozenset({"cost"})
PAGE_SIZES = (25, 50, 100, 200)
MAX_PK = 2**63 - 1  # a bigger number does not fit the column: a query with it would fail
STATUSES = (
    "running", "stopped", "pending", "stopping", "terminated", "available", "in_use",
    "deleting", "error", "unknown",
)  # fmt: skip


def status_label(status: str) -> str:
    """A status as the badges and the filter both word it: "in_use" -> "in use"."""
    return status.replace("_", " ")


@dataclass(frozen=True)
class ResourceFilters:
    # Each of these matches any of its values (a repeated parameter: ?type=vm&type=disk).
    provider: tuple[str, ...] = ()
    account: tuple[int, ...] = ()
    region: tuple[str, ...] = ()
    type: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    tag_key: str = ""
    tag_value: str | None = None
    q: str = ""
    include_deleted: bool = False
    managed: str = ""  # "", "managed", "unmanaged" (see inventory.managed)
    attached_to: int | None = None  # a resource's pk (see inventory.attachments)
    unattached: bool = False
    sort: str = "name"
    descending: bool = False


def _choice_error(word: str) -> dict[str, str]:
    return {"invalid_choice": f"Not {word}: %(value)s."}


def _choices_error(word: str) -> dict[str, str]:
    return {**_choice_error(word), "invalid_list": f"Not {word}: give one or more values."}


MULTI_FIELDS = ("provider", "account", "region", "type", "status")  # any of several values


def _many(size: int) -> forms.SelectMultiple:
    """A list box `size` rows tall; the page labels it above (see resource_list.html)."""
    return forms.SelectMultiple(attrs={"size": size})


def _length_error(what: str) -> dict[str, str]:
    return {"max_length": f"{what} at most %(limit_value)d characters (this has %(show_value)d)."}


class ResourceFilterForm(forms.Form):
    """A bad value is reported beside its field and left out of the filters, so the page
    still answers; the API refuses it instead (422)."""

    q = forms.CharField(
        required=False,
        max_length=200,
        label="Search",
        widget=forms.TextInput(attrs={"placeholder": "Name or id", "type": "search"}),
        error_messages=_length_error("Search for"),
    )
    # Nothing chosen means any; several chosen match any of them.
    provider = forms.MultipleChoiceField(
        required=False,
        choices=provider_choices,
        widget=_many(3),
        error_messages=_choices_error("a provider"),
    )
    account = forms.TypedMultipleChoiceField(
        required=False,
        coerce=int,
        choices=[],
        widget=_many(3),
        error_messages=_choices_error("an account of this organization"),
    )
    region = forms.MultipleChoiceField(
        required=False,
        choices=[],
        widget=_many(4),
        error_messages=_choices_error("a region with resources"),
    )
    type = forms.MultipleChoiceField(
        required=False,
        choices=ResourceType.choices,
        widget=_many(4),
        error_messages=_choices_error("a type"),
    )
    status = forms.MultipleChoiceField(
        required=False,
        choices=[(s, status_label(s)) for s in STATUSES],
        widget=_many(4),
        error_messages=_choices_error("a status"),
    )
    tag = forms.CharField(
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "key or key=value"}),
        error_messages=_length_error("A tag filter has"),
    )
    managed = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Managed or not"),
            ("managed", "Managed by mcloud"),
            ("unmanaged", "Unmanaged"),
        ],
        error_messages=_choice_error("a choice"),
    )
    attached_to = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_PK,
        widget=forms.HiddenInput,
        error_messages=dict.fromkeys(("invalid", "min_value", "max_value"),
                                     "Not a resource number: give a resource's number."),
    )  # fmt: skip
    unattached = forms.BooleanField(
        required=False, label="Unattached disks and IPs", help_text="Nothing uses them."
    )
    include_deleted = forms.BooleanField(required=False, label="Include deleted")
    sort = forms.CharField(required=False)
    per_page = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=50,  # type: ignore[arg-type]  # any value will do; the stub says str | None
        choices=[(n, f"{n} per page") for n in PAGE_SIZES],
        error_messages={"invalid_choice": "Choose 25, 50, 100 or 200 per page."},
    )

    # Filter fields whose messages show beside them; the class keeps Bootstrap's red outline
    # off the widgets, since an HTMX answer swaps only the messages (see resource_list.html).
    MESSAGE_FIELDS = ("q", "provider", "account", "region", "type", "status", "tag", "managed",
                      "attached_to", "per_page", "sort")  # fmt: skip
    live_errors = True

    def __init__(
        self,
        data: dict | None,
        *,
        accounts: list[CloudAccount],
        regions: list[str],
        organization: Organization | None = None,
    ) -> None:
        super().__init__(data)
        self.organization = organization
        self.attached_resource: Resource | None = None  # the "attached to" filter's, once valid
        account = cast(forms.ChoiceField, self.fields["account"])
        account.choices = [(a.pk, a.name) for a in accounts]
        cast(forms.ChoiceField, self.fields["region"]).choices = [(r, r) for r in regions]

    def clean_tag(self) -> str:
        tag = (self.cleaned_data.get("tag") or "").strip()
        if tag and not tag.partition("=")[0].strip():
            raise forms.ValidationError("A tag filter is key or key=value: the key is missing.")
        return tag

    def clean_attached_to(self) -> int | None:
        """A resource of this organization (one query, only when the filter is set); another
        organization's is refused as one that does not exist."""
        pk = self.cleaned_data.get("attached_to")
        if pk is None or self.organization is None:
            return pk
        self.attached_resource = (
            Resource.objects.filter(organization=self.organization, pk=pk).only("name").first()
        )
        if self.attached_resource is None:
            raise forms.ValidationError(f"No resource {pk} in this organization.")
        return pk

    def clean_sort(self) -> str:
        sort = self.cleaned_data.get("sort") or ""
        if sort and sort.lstrip("-") not in SORTS:
            raise forms.ValidationError(
                f"Cannot sort by {sort[:40]}: use {', '.join(SORTS)}, with - to reverse."
            )
        return sort

    def filters(self) -> ResourceFilters:
        """The valid filters; an invalid value is left out (and reported in `errors`) rather
        than failing the page."""
        self.is_valid()
        data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        sort = data.get("sort") or "name"
        descending = sort.startswith("-")
        sort = sort.lstrip("-")
        tag = (data.get("tag") or "").strip()
        key, _, value = tag.partition("=")
        return ResourceFilters(
            provider=_values(data, "provider"),
            account=_values(data, "account"),
            region=_values(data, "region"),
            type=_values(data, "type"),
            status=_values(data, "status"),
            tag_key=key.strip(),
            tag_value=value.strip() if "=" in tag else None,
            q=(data.get("q") or "").strip(),
            include_deleted=bool(data.get("include_deleted")),
            managed=data.get("managed") or "",
            attached_to=data.get("attached_to"),
            unattached=bool(data.get("unattached")),
            sort=sort if sort in SORTS else "name",
            descending=descending,
        )

    def messages(self) -> list[tuple[str, str]]:
        """(field, message) for every filter field, "" where its value is fine."""
        self.is_valid()
        return [
            (name, " ".join(str(e) for e in self.errors.get(name, [])))
            for name in self.MESSAGE_FIELDS
        ]

    def page_size(self) -> int:
        self.is_valid()
        if "per_page" in self.errors:
            return 50
        return self.cleaned_data.get("per_page") or 50


def _values(data: dict, name: str) -> tuple:
    """A multi-value field's distinct values, in the order given."""
    return tuple(dict.fromkeys(v for v in data.get(name) or () if v not in ("", None)))


def _any_of(f: ResourceFilters) -> dict[str, object]:
    """The multi-value filters as lookups: one value exact, several `__in`."""
    columns = {"provider": f.provider, "account_id": f.account, "region": f.region,
               "type": f.type, "status": f.status}  # fmt: skip
    lookups: dict[str, object] = {}
    for column, values in columns.items():
        if len(values) == 1:
            lookups[column] = values[0]
        elif values:
            lookups[f"{column}__in"] = list(values)
    return lookups


def apply_filters(
    rows: QuerySet[Resource], f: ResourceFilters, *, organization: Organization
) -> QuerySet[Resource]:
    """`rows` (of `organization`) that match `f`, sorted."""
    if not f.include_deleted:
        rows = rows.filter(deleted_at__isnull=True)
    rows = rows.filter(**_any_of(f))
    if f.tag_key:
        # The key is taken literally (colons, dots and "__" included), never as a path.
        rows = rows.filter(tags__has_key=f.tag_key)
        if f.tag_value is not None:
            # Cast to text: compared as JSON, a plain string would not parse.
            value = Cast(KeyTextTransform(f.tag_key, "tags"), output_field=CharField())
            rows = rows.alias(tag_value=value).filter(tag_value=f.tag_value)
    if f.q:
        rows = rows.filter(search(f.q))
    if f.managed:
        # In a deployment's current state, whatever the resource's tags say.
        keys = managed_keys(organization_id=organization.pk)
        if keys is None:
            rows = rows.none() if f.managed == "managed" else rows
        else:
            rows = rows.alias(id_lower=Lower("resource_id"))
            rows = (rows.filter if f.managed == "managed" else rows.exclude)(id_lower__in=keys)
    if f.attached_to is not None:
        rows = rows.filter(attached_to_filter(organization=organization, pk=f.attached_to))
    if f.unattached:
        rows = unattached(rows)
    order = SORTS[f.sort]
    tie = "-id" if f.descending and f.sort in SAME_WAY_TIES else "id"
    return rows.order_by(f"-{order}" if f.descending else order, tie)


def search(text: str) -> Q:
    """Name or id containing `text`, through the trigram index (see migration 0006)."""
    if connection.vendor == "sqlite" and len(text) >= 3:
        phrase = '"' + text.replace('"', '""') + '"'
        matches = RawSQL(
            "SELECT rowid FROM inventory_resource_search WHERE inventory_resource_search MATCH %s",
            [phrase],
        )
        return Q(id__in=matches)
    # PostgreSQL's pg_trgm indexes serve these (and SQLite scans for 1-2 letters).
    return Q(name__icontains=text) | Q(resource_id__icontains=text)


def tally_filters(f: ResourceFilters) -> dict[str, object] | None:
    """The filters as ResourceTally lookups, or None when a filter needs the rows."""
    if f.tag_key or f.q or f.managed or f.attached_to is not None or f.unattached:
        return None
    lookups: dict[str, object] = {} if f.include_deleted else {"live": True}
    lookups.update(_any_of(f))
    return lookups


class SavedViewForm(forms.Form):
    name = forms.CharField(
        max_length=80,
        error_messages={
            "required": "Give the view a name.",
            "max_length": "A view's name has at most %(limit_value)d characters "
            "(this has %(show_value)d).",
        },
    )
    query = forms.CharField(max_length=2000, required=False)
    shared = forms.BooleanField(required=False)
    replace = forms.BooleanField(required=False)


@dataclass(frozen=True)
class FilterChip:
    """One applied filter value as the list shows it above the table, with the query string
    that drops just that value (and the page)."""

    field: str
    label: str
    value: str
    remove: str


CHIP_LABELS = {"q": "Search", "provider": "Provider", "account": "Account", "region": "Region",
               "type": "Type", "status": "Status", "tag": "Tag", "managed": "Managed",
               "attached_to": "Attached to", "unattached": "Unattached",
               "include_deleted": "Deleted"}  # fmt: skip


def filter_chips(
    form: ResourceFilterForm, params: QueryDict, *, hidden: tuple[str, ...] = ()
) -> list[FilterChip]:
    """A chip for each value of `params` that `form` applied; refused values have their
    message beside the field instead, and `hidden` fields (the VM list's type) get none."""
    form.is_valid()
    chips = []
    for name, label in CHIP_LABELS.items():
        if name in hidden or name in form.errors:
            continue
        field = form.fields[name]
        shown = dict(getattr(field, "choices", ()))
        for raw in dict.fromkeys(v for v in params.getlist(name) if v):
            if isinstance(field, forms.BooleanField):
                value = "included" if name == "include_deleted" else "yes"
            elif name == "attached_to" and form.attached_resource is not None:
                value = form.attached_resource.name
            else:
                value = str(shown.get(_choice_key(field, raw), raw))
            rest = QueryDict(mutable=True)
            for key, values in params.lists():
                kept = [v for v in values if v and not (key == name and v == raw)]
                if kept and key != "page":
                    rest.setlist(key, kept)
            chips.append(FilterChip(name, label, value, rest.urlencode()))
    return chips


def _choice_key(field: forms.Field, raw: str) -> object:
    """`raw` as the field's choices key it (accounts by their number)."""
    if isinstance(field, forms.TypedMultipleChoiceField):
        try:
            return field.coerce(raw)
        except (TypeError, ValueError):
            return raw
    return raw
