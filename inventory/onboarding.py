"""What the connection forms tell an admin to run in their cloud: the trust policy of
mcloud's reader role and the commands that create it, filled in for this organization."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class AwsPrincipal:
    """The AWS identity mcloud's workers run as (AWS_PRINCIPAL_ARN), or a hint to replace."""

    arn: str
    known: bool

    def __str__(self) -> str:
        return self.arn


def aws_principal() -> AwsPrincipal:
    arn = settings.AWS_PRINCIPAL_ARN
    return AwsPrincipal(arn or "<the ARN mcloud runs as>", known=bool(arn))


def aws_trust_policy(external_id: str) -> str:
    """The reader role's trust policy: mcloud's identity may assume it with the external ID."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": aws_principal().arn},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            }
        ],
    }
    return json.dumps(policy, indent=2)
