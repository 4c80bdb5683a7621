"""`manage.py ensure_superuser`: the first superuser of the run command and the image."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command

from accounts.models import Membership, User

pytestmark = pytest.mark.django_db


def _run(capsys) -> str:
    call_command("ensure_superuser")
    return capsys.readouterr().out


def test_it_creates_a_verified_superuser_and_prints_a_generated_password_once(
    settings, capsys, client
):
    settings.SUPERUSER_EMAIL = "root@example.com"
    settings.SUPERUSER_PASSWORD = ""
    out = _run(capsys)
    password = out.split("Its password is: ")[1].strip()
    user = User.objects.get(email="root@example.com")
    assert user.is_superuser
    assert user.is_staff
    assert user.check_password(password)
    assert EmailAddress.objects.get(user=user).verified
    assert Membership.objects.get(user=user).role == "owner"  # a personal organization

    again = _run(capsys)
    assert "exists already" in again
    assert password not in again
    assert User.objects.filter(is_superuser=True).count() == 1
    assert client.login(email="root@example.com", password=password)


def test_it_takes_the_password_from_the_environment_and_never_prints_it(settings, capsys):
    settings.SUPERUSER_EMAIL = "ops@example.com"
    settings.SUPERUSER_PASSWORD = "a-long-operator-chosen-passphrase"
    out = _run(capsys)
    assert "Created the superuser ops@example.com" in out
    assert "a-long-operator-chosen-passphrase" not in out
    assert "password" not in out.lower()
    assert User.objects.get(email="ops@example.com").check_password(
        "a-long-operator-chosen-passphrase"
    )
