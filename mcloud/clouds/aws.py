"""AWS through boto3: sessions (access key or assumed role) and the connection test."""

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
    ResourceRecord,
    ResourceType,
    Status,
)
from mcloud.clouds.prices import hourly_price

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
        """The regions to cover: the chosen list, or every region enabled for the account."""
        if self.credentials.regions:
            return list(self.credentials.regions)
        with translate_errors("list the enabled regions"):
            answer = self.client("ec2").describe_regions(AllRegions=False)
        # Only the account's own partition: its keys mean nothing in China or GovCloud.
        session = self.session()
        home = session.get_partition_for_region(_DEFAULT_REGION)
        return sorted(
            r["RegionName"]
            for r in answer["Regions"]
            if session.get_partition_for_region(r["RegionName"]) == home
        )

    # --- inventory ---------------------------------------------------------------------
    def scopes(self) -> list[str]:
        """Each region, plus the global scope that holds the S3 buckets."""
        return [*self.regions(), GLOBAL_SCOPE]

    def list_scope(self, scope: str) -> list[ResourceRecord]:
        """Every resource of one region (or every bucket, for the global scope), paged to
        the end. Raises CloudError when any listing of the scope fails."""
        if scope == GLOBAL_SCOPE:
            with translate_errors("list the S3 buckets"):
                return self._buckets()
        records: list[ResourceRecord] = []
        with translate_errors(f"list the resources of {scope}"):
            ec2 = self.client("ec2", scope)
            records += self._instances(ec2, scope)
            records += self._volumes(ec2, scope)
            records += self._vpcs(ec2, scope)
            records += self._databases(self.client("rds", scope), scope)
        return records

    @staticmethod
    def _pages(
        client: Any, operation: str, key: str, page_size: int | None = None
    ) -> Iterator[dict]:
        config = {"PageSize": page_size} if page_size else {}
        for page in client.get_paginator(operation).paginate(PaginationConfig=config):
            yield from page.get(key, [])

    def _instances(self, ec2: Any, region: str) -> list[ResourceRecord]:
        records = []
        for reservation in self._pages(
            ec2, "describe_instances", "Reservations", self.ec2_page_size
        ):
            for i in reservation["Instances"]:
                tags = _tags(i.get("Tags"))
                state = i["State"]["Name"]
                metadata = {
                    "instance_type": i.get("InstanceType"),
                    "private_ip": i.get("PrivateIpAddress"),
                    "public_ip": i.get("PublicIpAddress"),
                    "vpc_id": i.get("VpcId"),
                    "subnet_id": i.get("SubnetId"),
                    "security_groups": [g["GroupId"] for g in i.get("SecurityGroups", [])],
                    "availability_zone": i.get("Placement", {}).get("AvailabilityZone"),
                    "image_id": i.get("ImageId"),
                    "platform": i.get("PlatformDetails") or i.get("Platform") or "Linux/UNIX",
                    "launch_time": _iso(i.get("LaunchTime")),
                    "provider_status": state,
                    "cost_per_hour": hourly_price("aws", i.get("InstanceType")),
                }
                records.append(
                    ResourceRecord(
                        resource_id=i["InstanceId"],
                        name=tags.get("Name") or i["InstanceId"],
                        type=ResourceType.VM,
                        region=region,
                        status=_EC2_STATES.get(state, Status.UNKNOWN),
                        created_at=i.get("LaunchTime"),
                        tags=tags,
                        metadata=metadata,
                    )
                )
        return records

    def _volumes(self, ec2: Any, region: str) -> list[ResourceRecord]:
        records = []
        for v in self._pages(ec2, "describe_volumes", "Volumes", self.ec2_page_size):
            tags = _tags(v.get("Tags"))
            metadata = {
                "size_gb": v.get("Size"),
                "volume_type": v.get("VolumeType"),
                "encrypted": v.get("Encrypted"),
                "availability_zone": v.get("AvailabilityZone"),
                "attached_to": [a["InstanceId"] for a in v.get("Attachments", [])],
                "provider_status": v["State"],
            }
            records.append(
                ResourceRecord(
                    resource_id=v["VolumeId"],
                    name=tags.get("Name") or v["VolumeId"],
                    type=ResourceType.DISK,
                    region=region,
                    status=_VOLUME_STATES.get(v["State"], Status.UNKNOWN),
                    created_at=v.get("CreateTime"),
                    tags=tags,
                    metadata=metadata,
                )
            )
        return records

    def _vpcs(self, ec2: Any, region: str) -> list[ResourceRecord]:
        records = []
        for v in self._pages(ec2, "describe_vpcs", "Vpcs", self.ec2_page_size):
            tags = _tags(v.get("Tags"))
            records.append(
                ResourceRecord(
                    resource_id=v["VpcId"],
                    name=tags.get("Name") or v["VpcId"],
                    type=ResourceType.NETWORK,
                    region=region,
                    status=Status.AVAILABLE if v.get("State") == "available" else Status.PENDING,
                    tags=tags,
                    metadata={
                        "cidr_block": v.get("CidrBlock"),
                        "is_default": v.get("IsDefault", False),
                        "provider_status": v.get("State"),
                    },
                )
            )
        return records

    def _databases(self, rds: Any, region: str) -> list[ResourceRecord]:
        records = []
        for d in self._pages(rds, "describe_db_instances", "DBInstances"):
            state = d.get("DBInstanceStatus", "")
            metadata = {
                "instance_class": d.get("DBInstanceClass"),
                "engine": d.get("Engine"),
                "engine_version": d.get("EngineVersion"),
                "storage_gb": d.get("AllocatedStorage"),
                "endpoint": (d.get("Endpoint") or {}).get("Address"),
                "multi_az": d.get("MultiAZ"),
                "vpc_id": (d.get("DBSubnetGroup") or {}).get("VpcId"),
                "provider_status": state,
                "cost_per_hour": hourly_price("aws", d.get("DBInstanceClass")),
            }
            records.append(
                ResourceRecord(
                    resource_id=d["DBInstanceArn"],
                    name=d["DBInstanceIdentifier"],
                    type=ResourceType.DATABASE,
                    region=region,
                    status=_RDS_STATES.get(state, Status.UNKNOWN),
                    created_at=d.get("InstanceCreateTime"),
                    tags=_tags(d.get("TagList")),
                    metadata=metadata,
                )
            )
        return records

    def _buckets(self) -> list[ResourceRecord]:
        s3 = self.client("s3")
        buckets = list(self._pages(s3, "list_buckets", "Buckets"))
        # Location and tags are one call each per bucket: ask for them side by side.
        with ThreadPoolExecutor(max_workers=8) as pool:
            details = list(pool.map(lambda b: self._bucket_details(s3, b["Name"]), buckets))
        return [
            ResourceRecord(
                resource_id=f"arn:aws:s3:::{b['Name']}",
                name=b["Name"],
                type=ResourceType.STORAGE,
                region=region,
                status=Status.AVAILABLE,
                created_at=b.get("CreationDate"),
                tags=tags,
                metadata={"provider_status": "available"},
            )
            for b, (region, tags) in zip(buckets, details, strict=True)
        ]

    @staticmethod
    def _bucket_details(s3: Any, name: str) -> tuple[str, dict[str, str]]:
        location = s3.get_bucket_location(Bucket=name).get("LocationConstraint")
        region = _LEGACY_LOCATIONS.get(location, location) or "us-east-1"
        try:
            tags = _tags(s3.get_bucket_tagging(Bucket=name).get("TagSet"))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchTagSet":
                raise
            tags = {}
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


def _tags(tag_list: list[dict] | None) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in tag_list or []}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


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
