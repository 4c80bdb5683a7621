"""The AWS estate beyond machines, volumes, databases and buckets (`estate.build_aws`): in
each region an application network and what runs in it, each piece attached to what it uses,
as a team would build it:

- a VPC with two subnets (one per zone), a web and a database security group, an Elastic IP
  on a NAT gateway and one on an instance;
- two web instances behind an Application Load Balancer (target group) and a classic load
  balancer, and an Auto Scaling group of one more in both subnets;
- a snapshot of a web instance's volume; an Aurora PostgreSQL cluster with one instance;
- two DynamoDB tables; an EKS cluster with a node group; two Lambda functions in the VPC;
- an SQS queue with its dead-letter queue, and an SNS topic that feeds the queue and a
  function;
- in Route 53 (global): a public hosted zone, and a private one on the first region's VPC;
- in the first region, examples for the waste finder: a canary's Application Load Balancer
  left behind with no targets (`idle_load_balancer`), a snapshot of a deleted volume, taken
  long ago (`orphan_snapshot`), an Elastic IP kept after its instance went
  (`unused_address`), and an instance stopped long ago (`long_stopped_vm`: one of those
  `estate.build_aws` stopped, dated back).

A handful of each, so that the sandbox builds and syncs quickly. `region_estate` is what the
tests build too; it returns the ids it made.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Sequence
from typing import Any

from emulators.aws import AwsEmulator

ROLE = "mcloud-sandbox-service"
_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "sts:AssumeRole",
    "Principal": {"Service": ["eks.amazonaws.com", "lambda.amazonaws.com", "ec2.amazonaws.com"]},
}]})  # fmt: skip


def build(aws: AwsEmulator, regions: Sequence[str]) -> None:
    """Every region's application estate, the hosted zones, and the waste examples."""
    made = [region_estate(aws, region, index=n) for n, region in enumerate(regions)]
    hosted_zones(aws, "acme.example", private_vpc=(regions[0], made[0]["vpc"]))
    idle_load_balancer(aws, regions[0], made[0])
    orphan_snapshot(aws, regions[0])
    unused_address(aws, regions[0])
    long_stopped_vm(aws, regions[0])


def _tags(**tags: str) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def service_role(aws: AwsEmulator) -> str:
    """The IAM role that EKS and Lambda run as (made once)."""
    iam = aws.client("iam")
    try:
        return iam.get_role(RoleName=ROLE)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        return iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=_TRUST)["Role"]["Arn"]


def amazon_linux_image(ec2: Any) -> str:
    """An Amazon Linux 2 image id. Named by a filter: moto answers all ~1,300 of its public
    images otherwise, which takes it seconds per region."""
    images = ec2.describe_images(
        Owners=["amazon"], Filters=[{"Name": "name", "Values": ["amzn2-ami-hvm-*-x86_64-gp2"]}]
    )["Images"]
    return images[0]["ImageId"]


def _function_zip() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return event\n")
    return archive.getvalue()


def region_estate(aws: AwsEmulator, region: str, *, index: int = 0) -> dict[str, Any]:
    """One region's application estate (see the module docstring). Returns the ids made:
    {"vpc", "subnets", "web_sg", "db_sg", "instances", "asg", "alb", "classic", "eip",
    "nat_eip", "nat", "snapshot", "cluster", "db_instance", "tables", "eks", "node_group",
    "functions", "queue", "dead_letter", "topic"}."""
    ec2 = aws.client("ec2", region)
    made: dict[str, Any] = {}
    cidr = f"10.{40 + index}"
    vpc = made["vpc"] = ec2.create_vpc(
        CidrBlock=f"{cidr}.0.0/16",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": _tags(Name=f"apps-{region}")}],
    )["Vpc"]["VpcId"]
    made["subnets"] = subnets = [
        ec2.create_subnet(
            VpcId=vpc, CidrBlock=f"{cidr}.{n}.0/24", AvailabilityZone=f"{region}{zone}",
            TagSpecifications=[{"ResourceType": "subnet",
                                "Tags": _tags(Name=f"apps-{zone}", team="platform")}],
        )["Subnet"]["SubnetId"]
        for n, zone in enumerate("ab")
    ]  # fmt: skip
    web_sg = made["web_sg"] = ec2.create_security_group(
        GroupName="web", Description="HTTPS from anywhere", VpcId=vpc
    )["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=web_sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
         "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])  # fmt: skip
    db_sg = made["db_sg"] = ec2.create_security_group(
        GroupName="database", Description="PostgreSQL from the web tier", VpcId=vpc
    )["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=db_sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
         "UserIdGroupPairs": [{"GroupId": web_sg}]}])  # fmt: skip

    image = amazon_linux_image(ec2)
    instances = made["instances"] = [i["InstanceId"] for i in ec2.run_instances(
        ImageId=image, MinCount=2, MaxCount=2, InstanceType="t3.small", SubnetId=subnets[0],
        SecurityGroupIds=[web_sg], TagSpecifications=[{"ResourceType": "instance",
        "Tags": _tags(Name=f"web-{region}", team="web", env="prod")}],
    )["Instances"]]  # fmt: skip
    eip = made["eip"] = ec2.allocate_address(
        Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip",
                                          "Tags": _tags(Name=f"web-{region}")}],
    )["AllocationId"]  # fmt: skip
    ec2.associate_address(AllocationId=eip, InstanceId=instances[0])
    nat_eip = made["nat_eip"] = ec2.allocate_address(Domain="vpc")["AllocationId"]
    made["nat"] = ec2.create_nat_gateway(
        SubnetId=subnets[0], AllocationId=nat_eip,
        TagSpecifications=[{"ResourceType": "natgateway", "Tags": _tags(Name=f"nat-{region}")}],
    )["NatGateway"]["NatGatewayId"]  # fmt: skip
    volume = ec2.describe_instances(InstanceIds=instances[:1])["Reservations"][0]["Instances"][0][
        "BlockDeviceMappings"][0]["Ebs"]["VolumeId"]  # fmt: skip
    made["snapshot"] = ec2.create_snapshot(
        VolumeId=volume, Description="nightly",
        TagSpecifications=[{"ResourceType": "snapshot", "Tags": _tags(Name="web-nightly")}],
    )["SnapshotId"]  # fmt: skip

    _load_balancers(aws, region, made, image)
    _data(aws, region, made)
    _apps(aws, region, made)
    return made


def _load_balancers(aws: AwsEmulator, region: str, made: dict[str, Any], image: str) -> None:
    subnets, web_sg, instances = made["subnets"], made["web_sg"], made["instances"]
    elbv2 = aws.client("elbv2", region)
    alb = made["alb"] = elbv2.create_load_balancer(
        Name="web", Subnets=subnets, SecurityGroups=[web_sg], Tags=_tags(team="web")
    )["LoadBalancers"][0]["LoadBalancerArn"]
    group = elbv2.create_target_group(
        Name="web", Protocol="HTTP", Port=80, VpcId=made["vpc"], TargetType="instance"
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": i} for i in instances])
    forward = [{"Type": "forward", "TargetGroupArn": group}]
    elbv2.create_listener(LoadBalancerArn=alb, Protocol="HTTP", Port=80, DefaultActions=forward)
    elb = aws.client("elb", region)
    elb.create_load_balancer(
        LoadBalancerName="legacy-web", Subnets=subnets[:1], SecurityGroups=[web_sg],
        Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 80}],
        Tags=_tags(team="web", env="legacy"),
    )  # fmt: skip
    elb.register_instances_with_load_balancer(
        LoadBalancerName="legacy-web", Instances=[{"InstanceId": instances[1]}]
    )
    made["classic"] = "legacy-web"
    autoscaling = aws.client("autoscaling", region)
    autoscaling.create_launch_configuration(
        LaunchConfigurationName="workers", ImageId=image, InstanceType="t3.micro"
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="workers", LaunchConfigurationName="workers", MinSize=1,
        MaxSize=4, DesiredCapacity=1, VPCZoneIdentifier=",".join(subnets),
        Tags=[{"Key": "team", "Value": "data", "PropagateAtLaunch": True}],
    )  # fmt: skip
    made["asg"] = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["workers"])[
        "AutoScalingGroups"][0]["AutoScalingGroupARN"]  # fmt: skip


def idle_load_balancer(aws: AwsEmulator, region: str, made: dict[str, Any]) -> str:
    """An Application Load Balancer a finished canary left behind in a region's estate
    (`made`, as `region_estate` returns it): its listener forwards to a target group with
    nothing registered. Returns its ARN."""
    elbv2 = aws.client("elbv2", region)
    alb = elbv2.create_load_balancer(
        Name="web-canary", Subnets=made["subnets"], SecurityGroups=[made["web_sg"]],
        Tags=_tags(team="web"),
    )["LoadBalancers"][0]["LoadBalancerArn"]  # fmt: skip
    group = elbv2.create_target_group(
        Name="web-canary", Protocol="HTTP", Port=80, VpcId=made["vpc"], TargetType="instance"
    )["TargetGroups"][0]["TargetGroupArn"]
    forward = [{"Type": "forward", "TargetGroupArn": group}]
    elbv2.create_listener(LoadBalancerArn=alb, Protocol="HTTP", Port=80, DefaultActions=forward)
    return alb


def orphan_snapshot(aws: AwsEmulator, region: str, *, days: int = 200) -> str:
    """The last snapshot of a reporting volume, taken `days` ago; the volume was deleted
    since. Returns its id."""
    ec2 = aws.client("ec2", region)
    volume = ec2.create_volume(Size=200, AvailabilityZone=f"{region}a", VolumeType="gp3")
    snapshot = ec2.create_snapshot(
        VolumeId=volume["VolumeId"], Description="reports: last copy before deletion",
        TagSpecifications=[{"ResourceType": "snapshot",
                            "Tags": _tags(Name="reports-final", team="data")}],
    )["SnapshotId"]  # fmt: skip
    ec2.delete_volume(VolumeId=volume["VolumeId"])
    aws.snapshot_taken(region, snapshot, dt.datetime.now(dt.UTC) - dt.timedelta(days=days))
    return snapshot


def long_stopped_vm(aws: AwsEmulator, region: str, *, days: int = 60) -> str | None:
    """The region's first stopped instance (by Name tag and id), its stop dated `days` back
    (moto stamps its own now). Returns its id; None when the region has none stopped."""
    reservations = aws.client("ec2", region).describe_instances(
        Filters=[{"Name": "instance-state-name", "Values": ["stopped"]}]
    )["Reservations"]
    stopped = sorted(
        ({t["Key"]: t["Value"] for t in i.get("Tags", [])}.get("Name", ""), i["InstanceId"])
        for r in reservations
        for i in r["Instances"]
    )
    if not stopped:
        return None
    instance = stopped[0][1]
    aws.instance_stopped(region, instance, dt.datetime.now(dt.UTC) - dt.timedelta(days=days))
    return instance


def unused_address(aws: AwsEmulator, region: str) -> str:
    """An Elastic IP a bastion host held: the host was terminated, the address kept (and
    billed). Returns its allocation id."""
    return aws.client("ec2", region).allocate_address(
        Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip",
                                          "Tags": _tags(Name="bastion", team="platform")}],
    )["AllocationId"]  # fmt: skip


def _data(aws: AwsEmulator, region: str, made: dict[str, Any]) -> None:
    rds = aws.client("rds", region)
    rds.create_db_subnet_group(DBSubnetGroupName="apps", DBSubnetGroupDescription="apps",
                               SubnetIds=made["subnets"])  # fmt: skip
    made["cluster"] = rds.create_db_cluster(
        DBClusterIdentifier="orders", Engine="aurora-postgresql", DBSubnetGroupName="apps",
        MasterUsername="sandbox_admin", MasterUserPassword="sandbox-not-a-real-password",
        VpcSecurityGroupIds=[made["db_sg"]], Tags=_tags(team="payments", env="prod"),
    )["DBCluster"]["DBClusterArn"]  # fmt: skip
    made["db_instance"] = rds.create_db_instance(
        DBInstanceIdentifier="orders-1", DBClusterIdentifier="orders", Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large", DBSubnetGroupName="apps",
    )["DBInstance"]["DBInstanceArn"]  # fmt: skip
    dynamodb = aws.client("dynamodb", region)
    made["tables"] = [
        dynamodb.create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            Tags=_tags(team=team),
        )["TableDescription"]["TableArn"]
        for name, team in (("sessions", "web"), ("carts", "payments"))
    ]  # fmt: skip


def _apps(aws: AwsEmulator, region: str, made: dict[str, Any]) -> None:
    role = service_role(aws)
    subnets, web_sg = made["subnets"], made["web_sg"]
    eks = aws.client("eks", region)
    made["eks"] = eks.create_cluster(
        name="platform", roleArn=role, tags={"team": "platform"},
        resourcesVpcConfig={"subnetIds": subnets, "securityGroupIds": [web_sg]},
    )["cluster"]["arn"]  # fmt: skip
    made["node_group"] = eks.create_nodegroup(
        clusterName="platform", nodegroupName="general", nodeRole=role, subnets=subnets,
        instanceTypes=["t3.medium"], tags={"team": "platform"},
        scalingConfig={"minSize": 1, "maxSize": 3, "desiredSize": 2},
    )["nodegroup"]["nodegroupArn"]  # fmt: skip
    functions = aws.client("lambda", region)
    made["functions"] = [
        functions.create_function(
            FunctionName=name, Runtime="python3.12", Role=role, Handler="index.handler",
            Code={"ZipFile": _function_zip()}, Tags={"team": "web"},
            VpcConfig={"SubnetIds": subnets, "SecurityGroupIds": [web_sg]},
        )["FunctionArn"]
        for name in ("resize-images", "send-receipts")
    ]  # fmt: skip
    sqs = aws.client("sqs", region)
    dead = sqs.create_queue(QueueName="jobs-dead-letter")["QueueUrl"]
    dead_arn = made["dead_letter"] = sqs.get_queue_attributes(
        QueueUrl=dead, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": 5})
    queue = sqs.create_queue(QueueName="jobs", tags={"team": "data"},
                             Attributes={"RedrivePolicy": redrive})["QueueUrl"]  # fmt: skip
    made["queue"] = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]  # fmt: skip
    sns = aws.client("sns", region)
    topic = made["topic"] = sns.create_topic(Name="orders", Tags=_tags(team="payments"))[
        "TopicArn"]  # fmt: skip
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=made["queue"])
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=made["functions"][1])


def hosted_zones(
    aws: AwsEmulator, domain: str, *, private_vpc: tuple[str, str] | None = None
) -> list[str]:
    """A public hosted zone for `domain`, and a private one on a VPC (region, id): their
    ids as Route 53 gives them ("/hostedzone/Z...")."""
    route53 = aws.client("route53")
    zones = [route53.create_hosted_zone(Name=domain, CallerReference=f"public-{domain}")[
        "HostedZone"]["Id"]]  # fmt: skip
    route53.change_tags_for_resource(ResourceType="hostedzone", ResourceId=zones[0].split("/")[-1],
                                     AddTags=_tags(team="web"))  # fmt: skip
    if private_vpc is not None:
        region, vpc = private_vpc
        zones.append(route53.create_hosted_zone(
            Name=f"internal.{domain}", CallerReference=f"private-{domain}",
            VPC={"VPCRegion": region, "VPCId": vpc}, HostedZoneConfig={"PrivateZone": True},
        )["HostedZone"]["Id"])  # fmt: skip
    return zones
