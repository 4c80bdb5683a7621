"""Small AWS estates in moto for the sync tests, made with the admin client."""

from __future__ import annotations

from typing import Any

from emulators.aws import AwsEmulator
from emulators.estate_aws import amazon_linux_image


def instances(aws: AwsEmulator, region: str, count: int, **tags: str) -> list[str]:
    ec2 = aws.client("ec2", region)
    image = amazon_linux_image(ec2)
    tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
    spec: dict[str, Any] = {
        "ImageId": image,
        "MinCount": count,
        "MaxCount": count,
        "InstanceType": "t3.micro",
    }
    if tag_list:
        spec["TagSpecifications"] = [{"ResourceType": "instance", "Tags": tag_list}]
    return [i["InstanceId"] for i in ec2.run_instances(**spec)["Instances"]]


def bucket(aws: AwsEmulator, name: str, region: str) -> None:
    s3 = aws.client("s3", region)
    config = (
        {}
        if region == "us-east-1"
        else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    )
    s3.create_bucket(Bucket=name, **config)
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "team", "Value": "data"}]})


def database(aws: AwsEmulator, name: str, region: str) -> None:
    aws.client("rds", region).create_db_instance(
        DBInstanceIdentifier=name,
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="admin_user",
        MasterUserPassword="not-a-real-secret-1",
        AllocatedStorage=20,
    )
