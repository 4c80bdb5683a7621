"""moto's server on 127.0.0.1, with IAM authentication switched on.

moto accepts any access key by default; a cloud that accepts anything cannot test a bad
credential. `AwsEmulator` creates an admin user for seeding, then makes moto check every
request's signature and IAM policy, as AWS does.

Where moto (5.2) answers otherwise than AWS in what the app relies on, `moto_as_aws()` mends
it in this process (moto's server runs in it):
- With authentication on, moto computes the signature of a GET (or HEAD, DELETE) request
  over its query parameters as if they were the body, so it refused every signed GET: EKS,
  Lambda and Route 53 reads. The body of such a request is empty, as signed.
- DescribeSnapshots ignores OwnerIds, so `OwnerIds=["self"]` answered the ~1,300 snapshots of
  moto's public AMIs in every region. It now keeps the snapshots of the owners named ("self"
  is the caller's account; "amazon" the snapshots behind moto's own AMIs).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import boto3
import requests
from moto.server import ThreadedMotoServer

ACCOUNT_ID = "123456789012"  # moto's default account
ADMIN_POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


def moto_as_aws() -> None:
    """Mend moto where it differs from AWS (see the module docstring). Idempotent."""
    from moto.core.responses import ActionResult
    from moto.ec2.responses.elastic_block_store import ElasticBlockStore
    from moto.iam import access_control

    request_class: Any = access_control.IAMRequestBase
    if getattr(request_class, "_mcloud_mended", False):
        return
    make_request = request_class._create_aws_request

    def signed_request(self: Any) -> Any:
        request = make_request(self)
        if self._method in ("GET", "HEAD", "DELETE") and not self._body:
            request.data = b""
        return request

    def describe_snapshots(self: Any) -> Any:
        snapshots = self.ec2_backend.describe_snapshots(
            snapshot_ids=self._get_param("SnapshotIds", []),
            filters=self._filters_from_querystring(),
        )
        owners = set(self._get_param("OwnerIds", []))
        if owners:
            accounts = {self.current_account if o == "self" else o for o in owners}
            snapshots = [
                s for s in snapshots
                if s.owner_id in accounts or ("amazon" in owners and s.from_ami)
            ]  # fmt: skip
        return ActionResult({"Snapshots": snapshots})

    request_class._create_aws_request = signed_request
    ElasticBlockStore.describe_snapshots = describe_snapshots
    request_class._mcloud_mended = True


class AwsEmulator:
    def __init__(self, port: int = 0) -> None:
        moto_as_aws()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.admin_key: tuple[str, str] = ("", "")
        self.url = ""

    def start(self) -> AwsEmulator:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        self.reset()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> AwsEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- state -----------------------------------------------------------------------
    def _enforce_auth(self, on: bool) -> None:
        count = "0" if on else "inf"
        requests.post(f"{self.url}/moto-api/reset-auth", data=count, timeout=10).raise_for_status()

    def reset(self) -> None:
        """Forget everything, recreate the admin user, and switch authentication on."""
        requests.post(f"{self.url}/moto-api/reset", timeout=60).raise_for_status()
        self._enforce_auth(False)
        iam = boto3.client(
            "iam",
            region_name="us-east-1",
            endpoint_url=self.url,
            aws_access_key_id="bootstrap",
            aws_secret_access_key="bootstrap",
        )
        self.admin_key = self._user_with_key(iam, "emulator-admin", ADMIN_POLICY)
        self._enforce_auth(True)

    @staticmethod
    def _user_with_key(iam: Any, name: str, policy: str) -> tuple[str, str]:
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="access", PolicyDocument=policy)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def client(self, service: str, region: str = "us-east-1") -> Any:
        """A boto3 client signed with the admin key, for seeding the emulator."""
        key_id, secret = self.admin_key
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.url,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
        )

    def snapshot_taken(self, region: str, snapshot_id: str, when: dt.datetime) -> None:
        """Date a snapshot back to `when`: AWS stamps a snapshot when it is made, and an
        estate that has grown for years holds old ones (moto's server runs in this process)."""
        from moto.ec2.models import ec2_backends

        naive_utc = when.astimezone(dt.UTC).replace(tzinfo=None)  # as moto keeps its times
        ec2_backends[ACCOUNT_ID][region].snapshots[snapshot_id].start_time = naive_utc

    def instance_stopped(self, region: str, instance_id: str, when: dt.datetime) -> None:
        """Date a stopped instance's stop back to `when`: AWS writes the time into its
        StateTransitionReason ("User initiated (... GMT)"), and moto writes its own now."""
        from moto.ec2.models import ec2_backends

        instance = ec2_backends[ACCOUNT_ID][region].get_instance_by_id(instance_id)
        if instance is None or instance.state != "stopped":
            raise ValueError(f"{instance_id} is no stopped instance in {region}")
        at = when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        instance._reason = f"User initiated ({at} GMT)"

    def create_user_key(self, name: str, policy: str = ADMIN_POLICY) -> tuple[str, str]:
        """An IAM user with an access key (id, secret), as a customer would create."""
        return self._user_with_key(self.client("iam"), name, policy)

    def create_role(self, name: str, *, external_id: str = "", policy: str = ADMIN_POLICY) -> str:
        """A role that our admin identity may assume (with `external_id` when given)."""
        condition = {"StringEquals": {"sts:ExternalId": external_id}} if external_id else {}
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    # moto matches principals exactly, so name the admin user, not the
                    # account root that real trust policies usually name.
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/emulator-admin"},
                    "Action": "sts:AssumeRole",
                    **({"Condition": condition} if condition else {}),
                }
            ],
        }
        iam = self.client("iam")
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"][
            "Arn"
        ]
        iam.put_role_policy(RoleName=name, PolicyName="access", PolicyDocument=policy)
        return arn

    # --- an organization -----------------------------------------------------------------
    def organization_create(self) -> str:
        """Make the admin's account an AWS organization's management account: its root id."""
        org = self.client("organizations")
        org.create_organization(FeatureSet="ALL")
        return org.list_roots()["Roots"][0]["Id"]

    def member_create(
        self, name: str, *, parent_id: str, role: str = "mcloud-reader", external_id: str = ""
    ) -> str:
        """A member account under `parent_id` (the root or a unit) with a reader `role` (none
        when empty) that the management account may assume: the new account's id."""
        org = self.client("organizations")
        created = org.create_account(Email=f"{name}@example.com", AccountName=name)
        member_id = created["CreateAccountStatus"]["AccountId"]
        root = org.list_roots()["Roots"][0]["Id"]
        if parent_id != root:
            org.move_account(
                AccountId=member_id, SourceParentId=root, DestinationParentId=parent_id
            )
        if role:
            condition = {"StringEquals": {"sts:ExternalId": external_id}} if external_id else {}
            trust = {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                               "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
                               **({"Condition": condition} if condition else {})}],
            }  # fmt: skip
            iam = self.member_client(member_id, "iam")
            iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
            iam.put_role_policy(RoleName=role, PolicyName="read", PolicyDocument=ADMIN_POLICY)
        return member_id

    def member_client(self, member_id: str, service: str, region: str = "us-east-1") -> Any:
        """A client acting in a member account (through the role AWS Organizations creates in
        every new account), for seeding it. moto checks no policy of that role, so
        authentication is off while such a client works: use it for seeding only."""
        self._enforce_auth(False)
        assumed = self.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{member_id}:role/OrganizationAccountAccessRole",
            RoleSessionName="seed",
        )["Credentials"]
        return _AuthRestoring(
            boto3.client(
                service, region_name=region, endpoint_url=self.url,
                aws_access_key_id=assumed["AccessKeyId"],
                aws_secret_access_key=assumed["SecretAccessKey"],
                aws_session_token=assumed["SessionToken"],
            ),
            self,
        )  # fmt: skip

    def member_leave(self, member_id: str) -> None:
        self.client("organizations").remove_account_from_organization(AccountId=member_id)


class _AuthRestoring:
    """A seeding client of a member account: each call runs with moto's authentication off
    and switches it back on after."""

    def __init__(self, client: Any, emulator: AwsEmulator) -> None:
        self._client, self._emulator = client, emulator
        emulator._enforce_auth(True)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if not callable(method):
            return method

        def call(*args: Any, **kwargs: Any) -> Any:
            self._emulator._enforce_auth(False)
            try:
                return method(*args, **kwargs)
            finally:
                self._emulator._enforce_auth(True)

        return call
