"""The AWS adapter (`mcloud.clouds.base.CloudAdapter`): the connection test, the scopes a
sync covers (the enabled regions, or the chosen ones still enabled, and the global scope),
each scope's listing (`inventory`) and the costs (`costs`)."""

from __future__ import annotations

from datetime import date
from typing import Any

import boto3
from botocore.config import Config

from mcloud.clouds.aws.actions import ec2_vm_action
from mcloud.clouds.aws.cleanups import ec2_cleanup
from mcloud.clouds.aws.cost_export import CostExportReader, export_place
from mcloud.clouds.aws.costs import RESOURCE_DAYS
from mcloud.clouds.aws.costs import costs as explorer_costs
from mcloud.clouds.aws.costs import resource_costs as explorer_resource_costs
from mcloud.clouds.aws.costs import tag_costs as explorer_tag_costs
from mcloud.clouds.aws.errors import translate_errors
from mcloud.clouds.aws.inventory import GLOBAL_SCOPE, list_scope
from mcloud.clouds.aws.organizations import organization_members
from mcloud.clouds.aws.session import DEFAULT_REGION, AwsSession
from mcloud.clouds.base import (
    ActionResult,
    AwsCredentials,
    CloudError,
    ConnectionResult,
    CostRecord,
    Endpoints,
    ExportedCosts,
    Listing,
    Member,
    ScopeListing,
    TagCostRecord,
)


class AwsAdapter:
    # Results per page of every paged listing: None asks for the most each operation allows
    # (paging is followed to the end whatever the size); tests shrink it to make the
    # emulator page.
    page_size: int | None = None

    def __init__(self, credentials: AwsCredentials, endpoints: Endpoints) -> None:
        self.credentials = credentials
        self.endpoints = endpoints
        self._aws = AwsSession(credentials, endpoints)

    # --- sessions and clients ----------------------------------------------------------
    def config(self) -> Config:
        return self._aws.config()

    def session(self) -> boto3.Session:
        """A session with the account's own credentials (after assuming its role)."""
        return self._aws.session()

    def client(self, service: str, region: str = DEFAULT_REGION) -> Any:
        return self._aws.client(service, region)

    def terraform_env(self) -> dict[str, str]:
        """The account's credentials as Terraform's AWS provider reads them (after assuming the
        role when one is set), and the first covered region as its default."""
        return self._aws.terraform_env()

    # --- operations --------------------------------------------------------------------
    def test_connection(self) -> ConnectionResult:
        """STS GetCallerIdentity, after assuming the role where one is set."""
        with translate_errors("check the credentials"):
            identity = self.client("sts").get_caller_identity()
        arn = identity["Arn"]
        return ConnectionResult(message=f"Connected as {arn}", identity=arn)

    def members(self) -> list[Member]:
        """The organization's other accounts (AWS Organizations), for discovery."""
        return organization_members(self)

    def regions(self) -> list[str]:
        """The regions to cover: the chosen ones that are enabled, or every enabled region."""
        return [scope for scope in self.scope_listing().scopes if scope != GLOBAL_SCOPE]

    def enabled_regions(self) -> list[str]:
        """Every region enabled for the account, in its own partition (its keys mean nothing
        in China or GovCloud). Opt-in regions not opted into are not enabled."""
        with translate_errors("list the enabled regions"):
            answer = self.client("ec2").describe_regions(AllRegions=False)
        session = self.session()
        home = session.get_partition_for_region(DEFAULT_REGION)
        return sorted(
            r["RegionName"]
            for r in answer.get("Regions", [])
            if r.get("RegionName")
            and r.get("OptInStatus") != "not-opted-in"
            and session.get_partition_for_region(r["RegionName"]) == home
        )

    # --- inventory ---------------------------------------------------------------------
    def scope_listing(self) -> ScopeListing:
        """Each region to cover, plus the global scope (S3 buckets, Route 53 hosted zones);
        a chosen region that is no longer enabled is named as gone."""
        enabled = self.enabled_regions()
        chosen = list(self.credentials.regions)
        if not chosen:
            return ScopeListing([*enabled, GLOBAL_SCOPE], otherwise="no longer enabled")
        return ScopeListing(
            [*(r for r in chosen if r in enabled), GLOBAL_SCOPE],
            gone={r: "no longer enabled" for r in chosen if r not in enabled},
        )

    def scopes(self) -> list[str]:
        return self.scope_listing().scopes

    def list_scope(self, scope: str) -> Listing:
        """Every resource of one region (or of the global services, for the global scope),
        paged to the end. A listing AWS denies for want of a permission is a skip saying so;
        anything else that fails raises CloudError (see `inventory`)."""
        return list_scope(self._aws, scope, self.page_size)

    # --- costs -------------------------------------------------------------------------
    def costs(self, start: date, end: date) -> list[CostRecord]:
        """Daily unblended costs per service and region from Cost Explorer (`costs`), per
        linked account too when the connection discovers its organization's members."""
        by_account = self.credentials.costs_by_account
        return explorer_costs(self.client, start, end, by_account=by_account)

    def tag_costs(self, start: date, end: date, keys: list[str]) -> list[TagCostRecord]:
        """Daily unblended costs per value of each cost allocation tag key (`tag_costs`),
        per linked account too as `costs`."""
        by_account = self.credentials.costs_by_account
        return explorer_tag_costs(self.client, start, end, keys, by_account=by_account)

    resource_cost_days = RESOURCE_DAYS

    def resource_costs(self, start: date, end: date) -> list[CostRecord]:
        """Daily unblended usage costs per resource, the last 14 days of [start, end) at
        most (`resource_costs`): Cost Explorer's resource-level data, once enabled."""
        return explorer_resource_costs(self.client, start, end)

    # --- the CUR 2.0 data export (longer history) ------------------------------------------
    def _export(self) -> CostExportReader:
        place = export_place(self._aws)
        if place is None:
            raise CloudError("The account names no data export.", permanent=True)
        return CostExportReader(self._aws, place)

    def export_location(self) -> str:
        """ "s3://bucket/prefix/name" of the account's CUR 2.0 export, or "" when none."""
        place = export_place(self._aws)
        return str(place) if place else ""

    def export_periods(self) -> list[date]:
        """The billing periods the export has delivered (`cost_export`)."""
        return self._export().periods()

    def export_costs(self, period: date, before: date, keys: list[str]) -> ExportedCosts:
        """One billing period's costs of the days before `before`, from the export."""
        return self._export().costs(period, before, keys)

    # --- actions -----------------------------------------------------------------------
    def vm_action(self, action: str, resource_id: str, region: str) -> ActionResult:
        """Start, stop or reboot an EC2 instance of `region` (`mcloud.clouds.aws.actions`)."""
        return ec2_vm_action(self.client("ec2", region), action, resource_id)

    def cleanup(self, kind: str, resource_id: str, region: str) -> ActionResult:
        """Delete a volume or snapshot, release an Elastic IP (`mcloud.clouds.aws.cleanups`)."""
        return ec2_cleanup(self.client("ec2", region), kind, resource_id)
