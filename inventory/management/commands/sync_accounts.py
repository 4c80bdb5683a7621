"""Sync cloud accounts in the foreground, with a progress bar: for operators and cron."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inventory.models import CloudAccount, SyncRun
from inventory.services.sync import cloud_account_sync

BAR_WIDTH = 30


class Command(BaseCommand):
    help = "Sync the inventory of every active cloud account (or the chosen ones) now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--account", type=int, action="append", help="A cloud account id.")
        parser.add_argument("--organization", help="Only the accounts of this organization (slug).")

    def handle(self, *args: Any, **options: Any) -> None:
        chosen = CloudAccount.objects.select_related("organization").order_by("pk")
        if options["account"]:
            chosen = chosen.filter(pk__in=options["account"])
        if options["organization"]:
            chosen = chosen.filter(organization__slug=options["organization"])
        accounts = list(chosen)
        if not accounts:
            raise CommandError("No cloud account matches.")
        failed = 0
        for account in accounts:
            if not account.is_active:
                self.stdout.write(f"{account.name}: skipped ({account.state_label.lower()})")
                continue
            run = cloud_account_sync(
                account=account, trigger=SyncRun.Trigger.COMMAND, on_progress=self._bar
            )
            self.stdout.write("")
            if run is None:
                self.stdout.write(f"{account.name}: skipped (another sync is running)")
                continue
            style = (
                self.style.SUCCESS
                if run.status == SyncRun.State.SUCCEEDED
                else (
                    self.style.WARNING if run.status == SyncRun.State.PARTIAL else self.style.ERROR
                )
            )
            line = f"{account.organization.slug}/{run.summary}, {run.unchanged} unchanged"
            self.stdout.write(style(f"{line} [{run.get_status_display()}] {run.error}".strip()))
            for scope, message in run.scope_errors.items():
                self.stdout.write(f"  {scope}: {message}")
            failed += run.status == SyncRun.State.FAILED
        if failed:
            raise CommandError(f"{failed} sync(s) failed.")

    def _bar(self, run: SyncRun) -> None:
        total = max(run.scopes_total, 1)
        filled = BAR_WIDTH * run.scopes_done // total
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.stdout.write(
            f"\r{run.account.name} [{bar}] {run.scopes_done}/{run.scopes_total} "
            f"+{run.created} ~{run.updated} -{run.removed}",
            ending="",
        )
        self.stdout.flush()
