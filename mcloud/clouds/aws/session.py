"""The account's boto3 session: its own access key, or a role assumed from the app's own AWS
identity (with the organization's external ID), then for a member account of an organization
the member's reader role, and clients on it.

- The role is assumed once per session object (an adapter lives for one operation).
- Clients are made under a lock: a boto3 session is not thread-safe, and a sync lists its
  scopes, and the services of each scope, on several threads.
- Clients retry server errors themselves (botocore's adaptive mode), within the endpoints'
  timeout and retry budget; throttling answers are retried beyond it, as long as the
  endpoints' throttle patience (`mcloud.clouds.throttling`).
- Every request a client sends (each retry too) first calls the endpoints' throttle with its
  rate-limit domain, "account:region:service": AWS limits each service's API calls per
  account and region. S3 limits requests per bucket (prefix) instead, in any region: its
  domain is "account:s3:bucket" ("account:s3" for the bucket list). The account is the one
  of the role assumed (the member's, else the connection's), or else the access key, known
  without a call (one key is of one account; two keys of one account are paced apart).
- Every session of the process shares one botocore data loader, so each service's model
  (EC2's is megabytes of JSON) is parsed once per process, not once per sync: a worker
  syncing an organization's member accounts one after another parsed a dozen models for
  each (about a second of CPU a sync on a busy 2-core machine, bench/sync_org.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.session
from botocore.config import Config
from botocore.loaders import Loader

from mcloud.clouds.aws.errors import THROTTLING, translate_errors
from mcloud.clouds.base import AwsCredentials, CloudError, Endpoints
from mcloud.clouds.throttling import ThrottledCall, retry_after

DEFAULT_REGION = "us-east-1"
# Connections per client: the most detail calls one service makes side by side.
MAX_POOL_CONNECTIONS = 10


_loader: Loader | None = None
_loader_lock = threading.Lock()


def new_session(**credentials: str | None) -> boto3.Session:
    """A boto3 session with these credentials (its own botocore session, events and
    clients), reading service models through the process's shared loader. The loader only
    caches what it parsed; botocore already hands every client of one session the same
    cached models."""
    global _loader
    core = botocore.session.get_session()
    with _loader_lock:
        if _loader is None:
            session = boto3.Session(botocore_session=core, **credentials)
            _loader = core.get_component("data_loader")
            return session
        core.register_component("data_loader", _loader)
        paths = list(_loader.search_paths)
        session = boto3.Session(botocore_session=core, **credentials)
        _loader.search_paths[:] = paths  # boto3 adds its data path to a session's loader
    return session


@dataclass(frozen=True)
class Identity:
    """Who the session is: the account id, and the partition its ARNs are in."""

    account_id: str
    partition: str
    arn: str


def s3_bucket(url: str) -> str:
    """The bucket an S3 request is for: the first label of a virtual-hosted address
    ("bucket.s3.eu-west-1.amazonaws.com"), else the first segment of the path (path-style,
    as with an endpoint URL); "" for the bucket list."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ".s3." in host or ".s3-" in host:
        return host.split(".s3", 1)[0]
    return parts.path.lstrip("/").split("/", 1)[0]


class AwsSession:
    def __init__(self, credentials: AwsCredentials, endpoints: Endpoints) -> None:
        self.credentials = credentials
        self.endpoints = endpoints
        self._session: boto3.Session | None = None
        self._identity: Identity | None = None
        self._lock = threading.RLock()

    def config(self) -> Config:
        return Config(
            connect_timeout=self.endpoints.timeout,
            read_timeout=self.endpoints.timeout,
            retries={"mode": "adaptive", "max_attempts": self.endpoints.retries + 1},
            max_pool_connections=MAX_POOL_CONNECTIONS,
        )

    def client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"config": self.config()}
        if self.endpoints.aws_endpoint_url:
            kwargs["endpoint_url"] = self.endpoints.aws_endpoint_url
        if self.endpoints.aws_ca_bundle:
            kwargs["verify"] = self.endpoints.aws_ca_bundle
        return kwargs

    def session(self) -> boto3.Session:
        """A session with the account's own credentials (after assuming its role)."""
        with self._lock:
            if self._session is None:
                self._session = self._new_session()
            return self._session

    def _new_session(self) -> boto3.Session:
        c = self.credentials
        if c.role_arn:
            # The app's own identity (environment, instance profile) assumes the role.
            session = self._assumed(new_session(), c.role_arn, "assume the role")
        else:
            session = new_session(
                aws_access_key_id=c.access_key_id,
                aws_secret_access_key=c.secret_access_key,
                aws_session_token=c.session_token or None,
            )
        if c.member_role_arn:  # a member account of an organization: its reader role
            session = self._assumed(session, c.member_role_arn, "assume the member's role")
        return session

    def _assumed(self, source: boto3.Session, role_arn: str, doing: str) -> boto3.Session:
        sts = self.paced(
            source.client("sts", region_name=DEFAULT_REGION, **self.client_kwargs()),
            DEFAULT_REGION,
        )
        kwargs = {"RoleArn": role_arn, "RoleSessionName": "mcloud"}
        if self.credentials.external_id:
            kwargs["ExternalId"] = self.credentials.external_id
        with translate_errors(doing):
            assumed = sts.assume_role(**kwargs)["Credentials"]
        return new_session(
            aws_access_key_id=assumed["AccessKeyId"],
            aws_secret_access_key=assumed["SecretAccessKey"],
            aws_session_token=assumed["SessionToken"],
        )

    def client(self, service: str, region: str = DEFAULT_REGION) -> Any:
        session = self.session()
        with self._lock:
            client = session.client(service, region_name=region, **self.client_kwargs())
        return self.paced(client, region)

    def account_label(self) -> str:
        """Whose limits this session's calls count against (see the module docstring)."""
        arn = self.credentials.member_role_arn or self.credentials.role_arn
        parts = arn.split(":")
        if len(parts) > 4 and parts[4]:
            return parts[4]
        return self.credentials.access_key_id or "default"

    def paced(self, client: Any, region: str) -> Any:
        """`client`, taking the throttle's token before each request it sends and retrying
        throttling answers as long as the patience (see the module docstring)."""
        events = client.meta.events
        throttle = self.endpoints.throttle
        if throttle is not None:
            service = client.meta.service_model.endpoint_prefix
            domain = f"{self.account_label()}:{region}:{service}"
            if service == "s3":
                domain = f"{self.account_label()}:s3"

            def take_token(request: Any = None, **_: Any) -> None:
                # A before-send handler that answers None lets the request go.
                bucket = s3_bucket(str(request.url)) if service == "s3" and request else ""
                throttle(f"{domain}:{bucket}" if bucket else domain)

            events.register("before-send", take_token)
        events.register_first("needs-retry", self._throttled_retry)
        return client

    def _throttled_retry(
        self, response: Any = None, request_dict: Any = None, **_: Any
    ) -> float | None:
        """botocore's needs-retry hook: the seconds to wait before sending a throttled call
        again, or None to leave the answer to botocore's own retries."""
        if response is None or request_dict is None:
            return None
        http, parsed = response
        error = parsed.get("Error", {}) if isinstance(parsed, dict) else {}
        if http.status_code != 429 and error.get("Code") not in THROTTLING:
            return None
        context = request_dict.setdefault("context", {})
        call = context.get("mcloud_throttled")
        if call is None:  # the call's first throttling answer
            call = context["mcloud_throttled"] = ThrottledCall(self.endpoints.throttle_patience)
        return call.wait(retry_after(http.headers.get("Retry-After")))

    def partition(self, region: str) -> str:
        """The partition a region is in ("aws", "aws-cn", ...), from botocore's own data."""
        session = self.session()
        with self._lock:
            return session.get_partition_for_region(region) or "aws"

    def identity(self) -> Identity:
        """STS GetCallerIdentity (which needs no permission), asked once."""
        with self._lock:
            if self._identity is None:
                with translate_errors("check the credentials"):
                    answer = self.client("sts").get_caller_identity()
                arn = str(answer.get("Arn") or "")
                parts = arn.split(":")
                self._identity = Identity(
                    account_id=str(answer.get("Account") or ""),
                    partition=parts[1] if len(parts) > 1 and parts[1] else "aws",
                    arn=arn,
                )
            return self._identity

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
            "AWS_DEFAULT_REGION": (self.credentials.regions or (DEFAULT_REGION,))[0],
        }
        if frozen.token:
            env["AWS_SESSION_TOKEN"] = frozen.token
        return env
