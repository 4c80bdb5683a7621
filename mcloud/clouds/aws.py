"""AWS through boto3: sessions (access key or assumed role), the connection test, inventory
and costs.

Each listed item becomes a record through a function of its own (`instance_record`, ...)
that reads the item as botocore parsed it and never raises: whatever a field holds, the
result is a normalized record or a `Skip` saying why not (see mcloud.clouds.base)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from mcloud.clouds.base import (
    AwsCredentials,
    CloudError,
    ConnectionResult,
    CostRecord,
    Endpoints,
    Listing,
    ResourceRecord,
    ResourceType,
    ScopeListing,
    Skip,
    Status,
)
from mcloud.clouds.prices import AWS_HOURLY_USD, hourly_price
from mcloud.clouds.records import clean_text, record_or_skip

# Error codes that retrying cannot fix.
_PERMANENT = {
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "AuthFailure",
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "ExpiredToken",
    "InvalidAccessKeyId",
    "OptInRequired",
}
_DEFAULT_REGION = "us-east-1"
COST_METRIC = "UnblendedCost"


class AwsAdapter:
    # Results per page of the EC2 listings (AWS allows 5 to 1000): paging is followed to
    # the end whatever the size, which tests shrink to make the emulator page.
    ec2_page_size = 1000

    def __init__(self, credentials: AwsCredentials, endpoints: Endpoints) -> None:
        self.credentials = credentials
        self.endpoints = endpoints
        self._session: boto3.Session | None = None

    # --- sessions and clients ----------------------------------------------------------
    def config(self) -> Config:
        return Config(
            connect_timeout=self.endpoints.timeout,
            read_timeout=self.endpoints.timeout,
            retries={"mode": "adaptive", "max_attempts": self.endpoints.retries + 1},
        )

    def _client_kwargs(self) -> dict:
        kwargs: dict = {"config": self.config()}
        if self.endpoints.aws_endpoint_url:
            kwargs["endpoint_url"] = self.endpoints.aws_endpoint_url
        if self.endpoints.aws_ca_bundle:
            kwargs["verify"] = self.endpoints.aws_ca_bundle
        return kwargs

    def session(self) -> boto3.Session:
        """A session with the account's own credentials (after assuming its role)."""
        if self._session is None:
            c = self.credentials
            if c.role_arn:
                # The app's own identity (environment, instance profile) assumes the role.
                sts = boto3.Session().client(
                    "sts", region_name=_DEFAULT_REGION, **self._client_kwargs()
                )
                kwargs = {"RoleArn": c.role_arn, "RoleSessionName": "mcloud"}
                if c.external_id:
                    kwargs["ExternalId"] = c.external_id
                with translate_errors("assume the role"):
                    assumed = sts.assume_role(**kwargs)["Credentials"]
                self._session = boto3.Session(
                    aws_access_key_id=assumed["AccessKeyId"],
                    aws_secret_access_key=assumed["SecretAccessKey"],
                    aws_session_token=assumed["SessionToken"],
                )
            else:
                self._session = boto3.Session(
                    aws_access_key_id=c.access_key_id,
                    aws_secret_access_key=c.secret_access_key,
                    aws_session_token=c.session_token or None,
                )
        return self._session

    def terraform_env(self) -> dict[str, str]:
        """The account's credentials as Terraform's AWS provider reads them (after assuming the
        role when one is set), and the first covered region as its default."""
        with translate_errors("read the credentials"):
            credentials = self.session().get_credentials()
        if credentials is None:
            raise CloudError("The account has no AWS credentials", permanent=True)
        frozen = credentials.get_frozen_credentials()
        env = {
            "AWS_ACCESS_KEY_ID": frozen.access_key,
            "AWS_SECRET_ACCESS_KEY": frozen.secret_key,
            "AWS_DEFAULT_REGION": (self.credentials.regions or (_DEFAULT_REGION,))[0],
        }
        if frozen.token:
            env["AWS_SESSION_TOKEN"] = frozen.token
        return env

    def client(self, service: str, region: str = _DEFAULT_REGION):
        return self.session().client(service, region_name=region, **self._client_kwargs())

    # --- operations --------------------------------------------------------------------
    def test_connection(self) -> ConnectionResult:
        """STS GetCallerIdentity, after assuming the role where one is set."""
        with translate_errors("check the credentials"):
            identity = self.client("sts").get_caller_identity()
        arn = identity["Arn"]
        return ConnectionResult(message=f"Connected as {arn}", identity=arn)

    def regions(self) -> list[str]:
        """The regions to cover: the chosen ones that are enabled, or every enabled region."""
        return [scope for scope in self.scope_listing().scopes if scope != GLOBAL_SCOPE]

    def enabled_regions(self) -> list[str]:
        """Every region enabled for the account, in its own partition (its keys mean nothing
        in China or GovCloud). Opt-in regions not opted into are not enabled."""
        with translate_errors("list the enabled regions"):
            answer = self.client("ec2").describe_regions(AllRegions=False)
        session = self.session()
        home = session.get_partition_for_region(_DEFAULT_REGION)
        return sorted(
            r["RegionName"]
            for r in answer.get("Regions", [])
            if r.get("RegionName")
            and r.get("OptInStatus") != "not-opted-in"
            and session.get_partition_for_region(r["RegionName"]) == home
        )

    # --- inventory ---------------------------------------------------------------------
    def scope_listing(self) -> ScopeListing:
        """Each region to cover, plus the global scope that holds the S3 buckets; a chosen
        region that is no longer enabled is named as gone."""
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
        """Every resource of one region (or every bucket, for the global scope), paged to
        the end. Raises CloudError when any listing of the scope fails."""
        listing = Listing()
        if scope == GLOBAL_SCOPE:
            with translate_errors("list the S3 buckets"):
                self._buckets(listing)
            return listing
        with translate_errors(f"list the resources of {scope}"):
            ec2 = self.client("ec2", scope)
            for reservation in self._pages(
                ec2, "describe_instances", "Reservations", self.ec2_page_size
            ):
                instances = reservation.get("Instances") if isinstance(reservation, dict) else None
                for item in instances if isinstance(instances, list) else []:
                    listing.add(made("instance", item, instance_record, scope))
            for item in self._pages(ec2, "describe_volumes", "Volumes", self.ec2_page_size):
                listing.add(made("volume", item, volume_record, scope))
            for item in self._pages(ec2, "describe_vpcs", "Vpcs", self.ec2_page_size):
                listing.add(made("VPC", item, vpc_record, scope))
            rds = self.client("rds", scope)
            for item in self._pages(rds, "describe_db_instances", "DBInstances"):
                listing.add(made("database", item, database_record, scope))
        return listing

    @staticmethod
    def _pages(
        client: Any, operation: str, key: str, page_size: int | None = None
    ) -> Iterator[Any]:
        config = {"PageSize": page_size} if page_size else {}
        for page in client.get_paginator(operation).paginate(PaginationConfig=config):
            yield from page.get(key) or []

    def _buckets(self, listing: Listing) -> None:
        s3 = self.client("s3")
        buckets = list(self._pages(s3, "list_buckets", "Buckets"))
        # Location and tags are one call each per bucket: ask for them side by side.
        with ThreadPoolExecutor(max_workers=8) as pool:
            details = list(pool.map(lambda b: self._bucket_details(s3, b), buckets))
        for bucket, detail in zip(buckets, details, strict=True):
            if isinstance(detail, Skip):
                listing.add(detail)
            else:
                listing.add(made("bucket", bucket, bucket_record, *detail))

    @staticmethod
    def _bucket_details(s3: Any, bucket: Any) -> tuple[str, dict[str, str]] | Skip:
        """(region, tags) of a listed bucket; a Skip when it was deleted meanwhile."""
        name = bucket.get("Name") if isinstance(bucket, dict) else None
        if not isinstance(name, str) or not name:
            return Skip("no id", "bucket without a name")
        try:
            location = s3.get_bucket_location(Bucket=name).get("LocationConstraint")
            region = _LEGACY_LOCATIONS.get(location, location) or "us-east-1"
            try:
                tags = _tags(s3.get_bucket_tagging(Bucket=name).get("TagSet"))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "NoSuchTagSet":
                    raise
                tags = {}
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchBucket":
                raise
            return Skip("deleted while listed", f"arn:aws:s3:::{clean_text(name, 200)}")
        return region, tags

    # --- costs -------------------------------------------------------------------------
    def costs(self, start: date, end: date) -> list[CostRecord]:
        """Daily unblended costs from `start` to `end` (exclusive) per service and region, from
        Cost Explorer, paged to the end. Zero amounts are kept (the importer decides).

        Cost Explorer is global (its endpoint is in us-east-1) and charges for every request,
        pages included. Costs without a region (tax, support) come as "NoRegion": region ""."""
        if start >= end:
            return []  # Cost Explorer refuses an empty period
        ce = self.client("ce", _DEFAULT_REGION)
        request: dict[str, Any] = {
            "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
            "Granularity": "DAILY",
            "Metrics": [COST_METRIC],
            "GroupBy": [
                {"Type": "DIMENSION", "Key": "SERVICE"},
                {"Type": "DIMENSION", "Key": "REGION"},
            ],
        }
        records: list[CostRecord] = []
        with translate_errors("read the costs from Cost Explorer"):
            while True:
                page = ce.get_cost_and_usage(**request)
                for period in page.get("ResultsByTime", []):
                    day = date.fromisoformat(period["TimePeriod"]["Start"])
                    estimated = bool(period.get("Estimated", False))
                    for group in period.get("Groups", []):
                        service, region = [*group["Keys"], "", ""][:2]
                        metric = group["Metrics"][COST_METRIC]
                        records.append(
                            CostRecord(
                                date=day,
                                service=service,
                                amount=Decimal(str(metric["Amount"])),
                                currency=metric.get("Unit", ""),
                                region="" if region == "NoRegion" else region,
                                metadata={"estimated": estimated},
                            )
                        )
                token = page.get("NextPageToken")
                if not token:
                    return records
                request["NextPageToken"] = token


GLOBAL_SCOPE = "global"
# S3 reports the oldest regions with legacy names.
_LEGACY_LOCATIONS = {"EU": "eu-west-1", "US": "us-east-1"}
_EC2_STATES = {
    "pending": Status.PENDING,
    "running": Status.RUNNING,
    "stopping": Status.STOPPING,
    "stopped": Status.STOPPED,
    "shutting-down": Status.STOPPING,
    "terminated": Status.TERMINATED,
}
_VOLUME_STATES = {
    "creating": Status.PENDING,
    "available": Status.AVAILABLE,
    "in-use": Status.IN_USE,
    "deleting": Status.DELETING,
    "deleted": Status.TERMINATED,
    "error": Status.ERROR,
}
_VPC_STATES = {"available": Status.AVAILABLE, "pending": Status.PENDING}
_RDS_STATES = {
    "available": Status.RUNNING,
    "creating": Status.PENDING,
    "starting": Status.PENDING,
    "backing-up": Status.RUNNING,
    "modifying": Status.RUNNING,
    "stopping": Status.STOPPING,
    "stopped": Status.STOPPED,
    "deleting": Status.DELETING,
    "failed": Status.ERROR,
}


def _tags(tag_list: Any) -> dict[str, str]:
    """AWS's [{"Key": k, "Value": v}] as {k: v}; entries without a key are dropped."""
    if not isinstance(tag_list, list):
        return {}
    return {
        t["Key"]: t.get("Value") or ""
        for t in tag_list
        if isinstance(t, dict) and isinstance(t.get("Key"), str)
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


def _get(item: Any, *path: str) -> Any:
    """item[a][b]..., or None as soon as a step is missing or not a mapping."""
    for key in path:
        if not isinstance(item, dict):
            return None
        item = item.get(key)
    return item


def _word(value: Any) -> str:
    """A provider's status word as text ("" when it sent none)."""
    return clean_text(value, 64)


def made(kind: str, item: Any, build: Any, *args: Any) -> ResourceRecord | Skip:
    """build(item, *args), or a Skip when the item is not even an object or the build fails
    on something unforeseen: one item never fails its listing."""
    if not isinstance(item, dict):
        return Skip("not an object", f"{kind} {clean_text(item, 80)}")
    try:
        return build(item, *args)
    except Exception as error:  # noqa: BLE001 - an unforeseen item is a skip, never a failure
        ref = next((item.get(k) for k in _ID_KEYS if isinstance(item.get(k), str)), "")
        return Skip(f"unreadable ({error.__class__.__name__})", f"{kind} {clean_text(ref, 200)}")


_ID_KEYS = ("InstanceId", "VolumeId", "VpcId", "DBInstanceArn", "Name")


def instance_record(i: dict[str, Any], region: str) -> ResourceRecord | Skip:
    tags = _tags(i.get("Tags"))
    state = _word(_get(i, "State", "Name"))
    instance_type = _word(i.get("InstanceType"))
    groups = i.get("SecurityGroups")
    return record_or_skip(
        kind="instance",
        resource_id=i.get("InstanceId"),
        name=tags.get("Name"),
        type=ResourceType.VM,
        region=region,
        status=_EC2_STATES.get(state, Status.UNKNOWN),
        created_at=i.get("LaunchTime"),
        tags=tags,
        metadata={
            "instance_type": instance_type or None,
            "private_ip": i.get("PrivateIpAddress"),
            "public_ip": i.get("PublicIpAddress"),
            "vpc_id": i.get("VpcId"),
            "subnet_id": i.get("SubnetId"),
            "security_groups": [
                g.get("GroupId") for g in groups if isinstance(g, dict) and g.get("GroupId")
            ]
            if isinstance(groups, list)
            else [],
            "availability_zone": _get(i, "Placement", "AvailabilityZone"),
            "image_id": i.get("ImageId"),
            "platform": i.get("PlatformDetails") or i.get("Platform") or "Linux/UNIX",
            "launch_time": _iso(i.get("LaunchTime")),
            "provider_status": state or None,
            "cost_per_hour": hourly_price(AWS_HOURLY_USD, instance_type),
        },
    )


def volume_record(v: dict[str, Any], region: str) -> ResourceRecord | Skip:
    tags = _tags(v.get("Tags"))
    state = _word(v.get("State"))
    attachments = v.get("Attachments")
    return record_or_skip(
        kind="volume",
        resource_id=v.get("VolumeId"),
        name=tags.get("Name"),
        type=ResourceType.DISK,
        region=region,
        status=_VOLUME_STATES.get(state, Status.UNKNOWN),
        created_at=v.get("CreateTime"),
        tags=tags,
        metadata={
            "size_gb": v.get("Size"),
            "volume_type": v.get("VolumeType"),
            "encrypted": v.get("Encrypted"),
            "availability_zone": v.get("AvailabilityZone"),
            "attached_to": [
                a.get("InstanceId")
                for a in attachments
                if isinstance(a, dict) and a.get("InstanceId")
            ]
            if isinstance(attachments, list)
            else [],
            "provider_status": state or None,
        },
    )


def vpc_record(v: dict[str, Any], region: str) -> ResourceRecord | Skip:
    tags = _tags(v.get("Tags"))
    state = _word(v.get("State"))
    return record_or_skip(
        kind="VPC",
        resource_id=v.get("VpcId"),
        name=tags.get("Name"),
        type=ResourceType.NETWORK,
        region=region,
        status=_VPC_STATES.get(state, Status.UNKNOWN),
        tags=tags,
        metadata={
            "cidr_block": v.get("CidrBlock"),
            "is_default": bool(v.get("IsDefault", False)),
            "provider_status": state or None,
        },
    )


def database_record(d: dict[str, Any], region: str) -> ResourceRecord | Skip:
    state = _word(d.get("DBInstanceStatus"))
    instance_class = _word(d.get("DBInstanceClass"))
    return record_or_skip(
        kind="database",
        resource_id=d.get("DBInstanceArn"),
        name=d.get("DBInstanceIdentifier"),
        type=ResourceType.DATABASE,
        region=region,
        status=_RDS_STATES.get(state, Status.UNKNOWN),
        created_at=d.get("InstanceCreateTime"),
        tags=_tags(d.get("TagList")),
        metadata={
            "instance_class": instance_class or None,
            "engine": d.get("Engine"),
            "engine_version": d.get("EngineVersion"),
            "storage_gb": d.get("AllocatedStorage"),
            "endpoint": _get(d, "Endpoint", "Address"),
            "multi_az": d.get("MultiAZ"),
            "vpc_id": _get(d, "DBSubnetGroup", "VpcId"),
            "provider_status": state or None,
            "cost_per_hour": hourly_price(AWS_HOURLY_USD, instance_class),
        },
    )


def bucket_record(b: dict[str, Any], region: str, tags: dict[str, str]) -> ResourceRecord | Skip:
    name = clean_text(b.get("Name"))
    return record_or_skip(
        kind="bucket",
        resource_id=f"arn:aws:s3:::{name}" if name else None,
        name=name,
        type=ResourceType.STORAGE,
        region=region,
        status=Status.AVAILABLE,
        created_at=b.get("CreationDate"),
        tags=tags,
        metadata={"provider_status": "available"},
    )


_KEY_ERRORS = {
    "AuthFailure",  # EC2's word for a key it does not accept
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "UnrecognizedClientException",
}


@contextmanager
def translate_errors(doing: str) -> Iterator[None]:
    """Turn botocore exceptions into display-safe CloudErrors."""
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _PERMANENT or status in (401, 403):
            message = (
                f"AWS rejected the access key ({code})"
                if code in _KEY_ERRORS
                else f"AWS denied the request to {doing} ({code})"
            )
            raise CloudError(message, permanent=True, code=code) from None
        raise CloudError(f"AWS could not {doing} ({code})", code=code) from None
    except (ConnectTimeoutError, ReadTimeoutError):
        raise CloudError(
            f"AWS did not answer in time while trying to {doing}", code="Timeout"
        ) from None
    except EndpointConnectionError:
        raise CloudError("AWS could not be reached", code="ConnectionError") from None
    except NoCredentialsError:
        raise CloudError(
            "No AWS credentials are available to assume the role",
            permanent=True,
            code="NoCredentials",
        ) from None
    except BotoCoreError as exc:
        name = exc.__class__.__name__
        raise CloudError(f"AWS could not {doing} ({name})", code=name) from None
