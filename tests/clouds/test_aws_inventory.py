"""The AWS adapter's inventory: boto3 against moto's server (IAM authentication on), with our
forwarding proxy in between where a test watches or changes what goes by."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from emulators import estate_aws
from emulators.aws import ACCOUNT_ID
from emulators.base import Request, Response
from emulators.proxy import ForwardingProxy
from mcloud.clouds.aws import READ_ACTIONS, AwsAdapter
from mcloud.clouds.base import AwsCredentials, CloudError, Endpoints, ResourceType, Status

REGION = "eu-west-1"
MOTO_LAMBDA_VPC = "vpc-123abc"  # moto answers this VpcId for every function in a VPC


def adapter(url: str, key: tuple[str, str], *, retries: int = 2) -> AwsAdapter:
    return AwsAdapter(
        AwsCredentials(access_key_id=key[0], secret_access_key=key[1], regions=(REGION,)),
        Endpoints(aws_endpoint_url=url, retries=retries),
    )


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": "*"}


def deny(actions: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": actions, "Resource": "*"}


def by_id(listing) -> dict[str, Any]:
    return {r.resource_id: r for r in listing.records}


def operation(request: Request) -> str:
    """The AWS operation a request asks for, whatever the protocol."""
    target = request.headers.get("x-amz-target", "")
    if target:
        return target.rsplit(".", 1)[-1]
    action = re.search(r"(?:^|&)Action=(\w+)", request.body.decode(errors="replace"))
    if action:
        return action.group(1)
    return f"{request.method} {request.path}"


class Meddler(ForwardingProxy):
    """moto behind; every request seen, and each answer passed through `meddle`."""

    def __init__(self, target: str, meddle: Callable[[Request, Response], None] | None = None):
        super().__init__(target)
        self.meddle = meddle
        self.seen: list[Request] = []

    def dispatch(self, request: Request) -> tuple[Response, bool]:
        self.seen.append(request)
        response, faults = super().dispatch(request)
        if self.meddle is not None:
            self.meddle(request, response)
        return response, faults

    def asked(self, name: str) -> list[Request]:
        return [r for r in self.seen if operation(r) == name]


@pytest.fixture
def estate(aws) -> dict[str, Any]:
    made = estate_aws.region_estate(aws, REGION)
    made["zones"] = estate_aws.hosted_zones(aws, "acme.example", private_vpc=(REGION, made["vpc"]))
    return made


def test_every_type_comes_back_normalized_and_attached(aws, estate):
    reader = adapter(aws.url, aws.create_user_key("reader"))
    assert reader.scopes() == [REGION, "global"]
    regional, global_ = reader.list_scope(REGION), reader.list_scope("global")
    assert regional.skips == global_.skips == []
    records = by_id(regional) | by_id(global_)

    types = Counter(r.type for r in records.values())
    assert set(types) == {
        ResourceType.VM, ResourceType.VM_GROUP, ResourceType.DISK, ResourceType.SNAPSHOT,
        ResourceType.NETWORK, ResourceType.SUBNET, ResourceType.FIREWALL,
        ResourceType.LOAD_BALANCER, ResourceType.IP_ADDRESS, ResourceType.NAT_GATEWAY,
        ResourceType.DATABASE, ResourceType.NOSQL, ResourceType.KUBERNETES,
        ResourceType.FUNCTION, ResourceType.QUEUE, ResourceType.TOPIC, ResourceType.DNS_ZONE,
    }  # fmt: skip
    assert types[ResourceType.VM] == 3  # two web instances and the Auto Scaling group's one
    assert types[ResourceType.VM_GROUP] == 2  # the Auto Scaling group and the node group
    assert types[ResourceType.LOAD_BALANCER] == 2
    assert types[ResourceType.DATABASE] == 2  # the Aurora cluster and its instance
    assert all(r.metadata["provider_type"].startswith("AWS::") for r in records.values())

    web, other = (records[i] for i in estate["instances"])
    volume = records[next(a for a in web.attached_to if a.startswith("vol-"))]
    assert web.attached_to == [volume.resource_id, estate["subnets"][0], estate["web_sg"],
                               estate["vpc"]]  # fmt: skip
    assert volume.attached_to == [web.resource_id]
    snapshot = records[estate["snapshot"]]
    assert (snapshot.name, snapshot.type, snapshot.status) == ("web-nightly", "snapshot",
                                                               Status.AVAILABLE)  # fmt: skip
    assert snapshot.attached_to == [volume.resource_id]
    assert snapshot.metadata["size_gb"] == volume.metadata["size_gb"]

    for subnet in estate["subnets"]:
        assert records[subnet].attached_to == [estate["vpc"]]
        assert records[subnet].tags == {"Name": records[subnet].name, "team": "platform"}
    web_sg = records[estate["web_sg"]]
    assert (web_sg.name, web_sg.attached_to) == ("web", [estate["vpc"]])
    assert web_sg.metadata["inbound"] == ["tcp 443 0.0.0.0/0"]
    assert records[estate["db_sg"]].metadata["inbound"] == [f"tcp 5432 {estate['web_sg']}"]

    alb = records[estate["alb"]]
    assert (alb.name, alb.status, alb.tags) == ("web", Status.AVAILABLE, {"team": "web"})
    assert alb.metadata["load_balancer_type"] == "application"
    assert alb.attached_to == [*estate["instances"], *estate["subnets"], estate["web_sg"],
                               estate["vpc"]]  # fmt: skip
    classic_arn = (f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:"
                   f"loadbalancer/{estate['classic']}")  # fmt: skip
    classic = records[classic_arn]
    assert (classic.name, classic.tags) == ("legacy-web", {"team": "web", "env": "legacy"})
    assert classic.attached_to == [other.resource_id, estate["subnets"][0], estate["web_sg"],
                                   estate["vpc"]]  # fmt: skip
    group = records[estate["asg"]]
    assert (group.name, group.type, group.tags) == ("workers", "vm_group", {"team": "data"})
    assert (group.metadata["desired_capacity"], group.metadata["instances"]) == (1, 1)
    worker = group.attached_to[0]
    assert records[worker].type == ResourceType.VM
    assert group.attached_to[1:] == estate["subnets"]

    eip = records[estate["eip"]]
    assert (eip.status, eip.attached_to, eip.name) == (Status.IN_USE, [web.resource_id],
                                                       f"web-{REGION}")  # fmt: skip
    nat = records[estate["nat"]]
    assert (nat.name, nat.status) == (f"nat-{REGION}", Status.AVAILABLE)
    assert nat.attached_to == [estate["subnets"][0], estate["vpc"], estate["nat_eip"]]

    cluster, instance = records[estate["cluster"]], records[estate["db_instance"]]
    assert (cluster.name, cluster.status, cluster.tags) == (
        "orders", Status.RUNNING, {"team": "payments", "env": "prod"})  # fmt: skip
    assert cluster.metadata["engine"] == "aurora-postgresql"
    assert cluster.attached_to == [estate["db_sg"]]
    assert instance.attached_to[:3] == [cluster.resource_id, *estate["subnets"]]

    sessions, carts = (records[t] for t in estate["tables"])
    assert (sessions.name, sessions.type, sessions.tags) == ("sessions", "nosql", {"team": "web"})
    assert (carts.status, carts.metadata["billing_mode"]) == (Status.AVAILABLE, "PAY_PER_REQUEST")
    assert carts.metadata["key_schema"] == ["id HASH"]

    eks, nodes = records[estate["eks"]], records[estate["node_group"]]
    assert (eks.name, eks.status, eks.tags) == ("platform", Status.RUNNING, {"team": "platform"})
    assert eks.attached_to[:3] == [*estate["subnets"], estate["web_sg"]]
    assert (nodes.name, nodes.type, nodes.metadata["desired_size"]) == ("general", "vm_group", 2)
    assert nodes.attached_to == [eks.resource_id, *estate["subnets"]]

    resize, receipts = (records[f] for f in estate["functions"])
    assert (resize.name, resize.status, resize.tags) == ("resize-images", Status.AVAILABLE,
                                                         {"team": "web"})  # fmt: skip
    assert resize.attached_to[:3] == [*estate["subnets"], estate["web_sg"]]
    queue, dead = records[estate["queue"]], records[estate["dead_letter"]]
    assert (queue.name, queue.tags, queue.attached_to) == ("jobs", {"team": "data"},
                                                           [dead.resource_id])  # fmt: skip
    assert queue.created_at is not None
    topic = records[estate["topic"]]
    assert (topic.name, topic.tags) == ("orders", {"team": "payments"})
    assert topic.attached_to == [queue.resource_id, receipts.resource_id]

    public, private = (records[f"arn:aws:route53:::hostedzone/{z.split('/')[-1]}"]
                       for z in estate["zones"])  # fmt: skip
    assert (public.name, public.region, public.tags) == ("acme.example", "global", {"team": "web"})
    assert (private.name, private.attached_to) == ("internal.acme.example", [estate["vpc"]])

    # Everything a record is attached to is a record too (moto makes up functions' VPC).
    dangling = {a for r in records.values() for a in r.attached_to if a not in records}
    assert dangling <= {MOTO_LAMBDA_VPC}


def test_only_the_accounts_own_snapshots_are_listed(aws, estate):
    listing = adapter(aws.url, aws.create_user_key("reader")).list_scope(REGION)
    snapshots = [r.resource_id for r in listing.records if r.type == ResourceType.SNAPSHOT]
    assert snapshots == [estate["snapshot"]]  # not the snapshots behind Amazon's images


def test_every_paged_listing_is_followed_to_the_end(aws, monkeypatch):
    """With pages of one, the listings that moto pages come in pages and all of it comes."""
    autoscaling, elbv2, elb = (aws.client(s, REGION) for s in ("autoscaling", "elbv2", "elb"))
    eks, sqs, dynamodb = (aws.client(s, REGION) for s in ("eks", "sqs", "dynamodb"))
    ec2 = aws.client("ec2", REGION)
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    image = estate_aws.amazon_linux_image(ec2)
    role = estate_aws.service_role(aws)
    autoscaling.create_launch_configuration(LaunchConfigurationName="lc", ImageId=image,
                                            InstanceType="t3.micro")  # fmt: skip
    route53 = aws.client("route53")
    for n in range(3):
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=f"group-{n}", LaunchConfigurationName="lc", MinSize=0,
            MaxSize=1, DesiredCapacity=0, VPCZoneIdentifier=subnets[0])  # fmt: skip
        elbv2.create_load_balancer(Name=f"alb-{n}", Subnets=subnets)
        elb.create_load_balancer(LoadBalancerName=f"classic-{n}", Subnets=subnets[:1], Listeners=[
            {"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 80}])  # fmt: skip
        eks.create_cluster(name=f"cluster-{n}", roleArn=role,
                           resourcesVpcConfig={"subnetIds": subnets})  # fmt: skip
        eks.create_nodegroup(clusterName="cluster-0", nodegroupName=f"nodes-{n}", nodeRole=role,
                             subnets=subnets)  # fmt: skip
        sqs.create_queue(QueueName=f"queue-{n}")
        dynamodb.create_table(
            TableName=f"table-{n}", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])  # fmt: skip
        route53.create_hosted_zone(Name=f"zone-{n}.example", CallerReference=f"zone-{n}")
    monkeypatch.setattr(AwsAdapter, "page_size", 1)
    with Meddler(aws.url) as proxy:
        reader = adapter(proxy.url, aws.create_user_key("pager"))
        listed = reader.list_scope(REGION).records + reader.list_scope("global").records
    names = Counter(r.type for r in listed)
    assert (names["vm_group"], names["load_balancer"], names["kubernetes"]) == (6, 6, 3)
    assert (names["queue"], names["nosql"], names["dns_zone"]) == (3, 3, 3)
    for name in ("DescribeAutoScalingGroups", "ListQueues", "ListTables"):
        assert len(proxy.asked(name)) == 3, name
    assert len(proxy.asked("GET /clusters")) == 3
    assert len(proxy.asked("GET /clusters/cluster-0/node-groups")) == 3
    assert len(proxy.asked("GET /2013-04-01/hostedzone")) == 3
    balancers = proxy.asked("DescribeLoadBalancers")
    assert len(balancers) == 6  # three pages each of ALBs and classic ones
    assert all(b"PageSize=1" in r.body for r in balancers)


def test_a_malformed_item_is_a_skip_and_the_rest_is_listed(aws, estate):
    """Items that lost their ids on the way: a NAT gateway (EC2's XML) and a table (JSON)."""

    def meddle(request: Request, response: Response) -> None:
        if operation(request) == "DescribeNatGateways":
            response.body = re.sub(rb"<natGatewayId>[^<]*</natGatewayId>", b"", response.body)
        if operation(request) == "DescribeTable" and b'"carts"' in request.body:
            table = json.loads(response.body)
            del table["Table"]["TableArn"]
            response.body = json.dumps(table).encode()

    with Meddler(aws.url, meddle) as proxy:
        listing = adapter(proxy.url, aws.create_user_key("reader")).list_scope(REGION)
    assert {(s.reason, s.item) for s in listing.skips} == {
        ("no id", f"NAT gateway nat-{REGION}"),
        ("no id", "table carts"),
    }
    records = by_id(listing)
    assert not {estate["nat"], estate["tables"][1]} & set(records)
    assert {estate["tables"][0], estate["alb"]} <= set(records)


def test_an_item_deleted_while_listed_is_a_skip(aws, estate):
    """A queue deleted between ListQueues and its attributes, a table before its description."""
    sqs, dynamodb = aws.client("sqs", REGION), aws.client("dynamodb", REGION)
    dead_url = sqs.get_queue_url(QueueName="jobs-dead-letter")["QueueUrl"]

    def meddle(request: Request, response: Response) -> None:
        if operation(request) == "ListQueues":
            sqs.delete_queue(QueueUrl=dead_url)
        if operation(request) == "ListTables":
            dynamodb.delete_table(TableName="carts")

    with Meddler(aws.url, meddle) as proxy:
        listing = adapter(proxy.url, aws.create_user_key("reader")).list_scope(REGION)
    assert {(s.reason, s.item.split(" ")[0]) for s in listing.skips} == {
        ("deleted while listed", "queue"),
        ("deleted while listed", "table"),
    }
    assert estate["queue"] in by_id(listing)


def test_a_service_the_policy_denies_is_named_and_the_rest_is_listed(aws, estate):
    key = aws.create_user_key("no-eks", policy(allow("*"), deny(["eks:*", "sqs:ListQueues"])))
    listing = adapter(aws.url, key).list_scope(REGION)
    denied = {(s.reason.split(" (")[0], s.item) for s in listing.skips}
    assert denied == {
        ("not listed: AWS denied access", "EKS clusters and node groups"),
        ("not listed: AWS denied access", "SQS queues"),
    }
    types = {r.type for r in listing.records}
    assert not {ResourceType.KUBERNETES, ResourceType.QUEUE} & types
    assert {ResourceType.VM, ResourceType.LOAD_BALANCER, ResourceType.TOPIC} <= types
    # The node group is not listed either: it came with its cluster.
    assert estate["node_group"] not in by_id(listing)


def test_a_scope_where_every_listing_is_denied_fails(aws, estate):
    key = aws.create_user_key("ec2-only", policy(allow(["ec2:*"])))
    reader = adapter(aws.url, key)
    assert {r.type for r in reader.list_scope(REGION).records} >= {ResourceType.VM}
    with pytest.raises(CloudError) as failed:
        reader.list_scope("global")  # S3 and Route 53 both denied
    assert failed.value.permanent
    assert failed.value.message.startswith("AWS denied the request to list the resources of global")


def test_the_read_actions_are_all_a_sync_needs(aws, estate):
    everything = adapter(aws.url, aws.create_user_key("admin-reader"))
    least = adapter(aws.url, aws.create_user_key("least", policy(allow(list(READ_ACTIONS)))))
    for scope in (REGION, "global"):
        full, narrow = everything.list_scope(scope), least.list_scope(scope)
        assert narrow.skips == []
        assert sorted(by_id(narrow)) == sorted(by_id(full))


def test_a_listing_that_fails_otherwise_fails_the_scope(aws, estate):
    def meddle(request: Request, response: Response) -> None:
        if operation(request) == "GET /clusters":
            response.status = 500
            response.body = b'{"message": "We encountered an internal error."}'

    with Meddler(aws.url, meddle) as proxy, pytest.raises(CloudError) as failed:
        adapter(proxy.url, aws.create_user_key("reader"), retries=0).list_scope(REGION)
    assert not failed.value.permanent
    assert failed.value.message.startswith(
        f"AWS could not list the EKS clusters and node groups of {REGION}"
    )
