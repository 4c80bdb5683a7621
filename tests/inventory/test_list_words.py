"""Quieter lists: a badge only where it says something, statuses in the filter's words,
short values that do not wrap."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from inventory.models import Resource
from tests.inventory import estate

pytestmark = pytest.mark.django_db


@pytest.fixture
def inventory(org, alice, hello_version):
    aws = estate.account(org, "aws-prod-with-a-long-name")
    records = estate.fill(aws, 6, region="eu-west-1")
    first, second = Resource.objects.order_by("name")[:2]
    Resource.objects.filter(pk=first.pk).update(deployment_ref="42", status="in_use")
    Resource.objects.filter(pk=second.pk).update(deployment_ref="42")  # the tag alone
    estate.deploy(org, alice, hello_version, "web-stack", records[0].resource_id)
    return aws


def test_only_managed_rows_carry_a_badge(login, vera, inventory):
    html = login(vera).get(reverse("inventory:resource_list")).content.decode()
    table = html[html.index('id="resource-table"') :]
    assert table.count(">managed by web-stack</a>") == 1
    assert "unmanaged</span>" not in table


def test_statuses_read_as_in_the_filter(login, vera, inventory):
    html = login(vera).get(reverse("inventory:resource_list")).content.decode()
    table = html[html.index('id="resource-table"') :]
    assert 'title="Only this status">in use</a>' in table  # a badge that filters by it
    assert ">in_use<" not in table
    assert '<option value="in_use">in use</option>' in html


def test_short_values_do_not_wrap(login, vera, inventory):
    html = login(vera).get(reverse("inventory:resource_list")).content.decode()
    cell = re.search(r'<td class="([^"]*)">aws-prod-with-a-long-name</td>', html)
    assert cell is not None
    assert "text-nowrap" in cell.group(1)
