"""AWS through boto3: sessions (access key or assumed role) and the connection test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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

from mcloud.clouds.base import AwsCredentials, CloudError, ConnectionResult, Endpoints

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


class AwsAdapter:
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
        return sorted(r["RegionName"] for r in answer["Regions"])


_KEY_ERRORS = {
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
