"""The sandbox's GCP services beyond machines, disks, buckets and networks (which
`emulators.estate.build_gcp` adds): per project a handful of each type the inventory knows,
wired together as a team would wire them.

- networking: a custom VPC with two subnetworks, firewall rules (one for every VM, one for
  tagged web servers), a Cloud NAT on its own address, a reserved address nobody uses;
- a managed instance group behind an HTTP load balancer (global forwarding rule, target proxy,
  URL map, backend service), and an internal passthrough balancer on the same group;
- in one project, examples for the waste finder: a legacy network load balancer whose
  target pool lost its VMs (`idle_load_balancer`), an old snapshot of a deleted disk
  (`orphan_snapshot`), and a VM stopped long ago (`long_stopped_vm`);
- snapshots of boot disks, a GKE cluster with a node pool, Cloud SQL (one stopped),
  Firestore, Pub/Sub topics, 2nd-gen Cloud Functions (one on a topic), a Cloud Run service on
  Cloud SQL and the VPC, and public and private DNS zones.

Each project draws from its own generator, so that the rest of the estate stays as it was."""

from __future__ import annotations

import datetime as dt
import random

from emulators.gcp import GcpFake

REGION = "us-central1"


def build_project(gcp: GcpFake, project: str, env: str, teams: tuple[str, ...]) -> None:
    """Add the services of one project (after its machines, disks and networks exist)."""
    rng = random.Random(f"gcp-{project}")
    labels = {"env": env}
    vpc = f"{env}-vpc"
    n = _octet(project)
    for index, name in enumerate(("app", "data")):
        gcp.add_subnetwork(project, name=f"{env}-{name}", region=REGION, network=vpc,
                           cidr=f"10.{n}.{index}.0/24", private_google_access=True)  # fmt: skip
    gcp.add_firewall(project, name="allow-ssh-iap", network="default", sources=["35.235.240.0/20"])
    gcp.add_firewall(project, name="allow-web", network="default", ports=["80", "443"],
                     target_tags=["http-server"])  # fmt: skip
    gcp.add_firewall(project, name=f"{vpc}-internal", network=vpc, ports=[], protocol="all",
                     sources=[f"10.{n}.0.0/16"])  # fmt: skip
    gcp.add_firewall(project, name=f"{vpc}-legacy-rdp", network=vpc, ports=["3389"],
                     disabled=True)  # fmt: skip
    gcp.add_address(project, name="unused-ip", region=REGION, address=f"34.{n}.200.7")
    for vm in gcp.resources(project, "instance"):  # their external IPs, reserved
        nat = vm["networkInterfaces"][0].get("accessConfigs", [{}])[0].get("natIP")
        if nat:
            region = vm["zone"].rsplit("/", 1)[1].rsplit("-", 1)[0]
            gcp.add_address(project, name=f"{vm['name']}-ip", region=region, address=nat,
                            users=[vm["selfLink"]], labels=vm.get("labels"))  # fmt: skip
    gcp.add_address(project, name=f"{env}-nat-ip", region=REGION, address=f"34.{n}.200.8")
    gcp.add_router(project, name=f"{env}-router", region=REGION, network=vpc, nat=f"{env}-nat",
                   nat_ips=[f"{env}-nat-ip"])  # fmt: skip
    _balanced_group(gcp, project, env, n, labels)
    for disk in [d for d in gcp.resources(project, "disk") if d.get("users")][:3]:
        gcp.add_snapshot(project, name=f"{disk['name']}-nightly", source_disk=disk["selfLink"],
                         size_gb=int(disk["sizeGb"]), labels={"schedule": "nightly"})  # fmt: skip
    gcp.add_cluster(project, name=f"{env}-apps", location=f"{REGION}-b",
                    node_pools=[("default-pool", 2, "e2-standard-4")],
                    labels={**labels, "team": "platform"})  # fmt: skip
    gcp.add_sql_instance(project, name=f"{env}-orders", region=REGION, private_network=vpc,
                         labels={**labels, "team": "payments"})  # fmt: skip
    gcp.add_sql_instance(project, name=f"{env}-reports", region="europe-west1",
                         database_version="MYSQL_8_0", tier="db-n1-standard-1",
                         activation_policy="NEVER", labels={**labels, "team": "data"})  # fmt: skip
    gcp.add_firestore_database(project, location="nam5")
    topics = [f"{env}-{name}" for name in ("orders", "events", "audit")]
    for index, topic in enumerate(topics):
        gcp.add_topic(project, name=topic, labels={"team": teams[index % len(teams)]})
    gcp.add_function(project, name=f"{env}-on-order", topic=topics[0],
                     labels={"team": "payments"})  # fmt: skip
    gcp.add_function(project, name=f"{env}-thumbnail", runtime="nodejs20", labels=labels)
    gcp.add_run_service(project, name=f"{env}-checkout", sql_instances=[f"{env}-orders"],
                        network=vpc, subnetwork=f"{env}-app",
                        labels={"team": "payments"})  # fmt: skip
    gcp.add_run_service(project, name=f"{env}-status-page", ready=rng.random() < 0.9)
    gcp.add_dns_zone(project, name=f"{env}-public", dns_name=f"{env}.acme.example.")
    gcp.add_dns_zone(project, name=f"{env}-internal", dns_name=f"{env}.internal.",
                     private_networks=[vpc, "default"])  # fmt: skip


def _octet(project: str) -> int:
    """A second octet of the project's own, for its addresses."""
    return 10 + len(project) % 7


def idle_load_balancer(gcp: GcpFake, project: str, env: str) -> str:
    """A legacy network load balancer left behind: a regional forwarding rule to a target
    pool whose VMs were deleted (the pool is empty). Returns the rule's URL."""
    pool = gcp.add_target_pool(project, name=f"{env}-legacy-pool", region=REGION)
    rule = gcp.add_forwarding_rule(project, name=f"{env}-legacy-tcp", region=REGION,
                                   ip_address=f"34.{_octet(project)}.100.9",
                                   target=pool["selfLink"], scheme="EXTERNAL",
                                   labels={"team": "web"})  # fmt: skip
    return rule["selfLink"]


def orphan_snapshot(gcp: GcpFake, project: str, env: str, *, days: int = 200) -> str:
    """The last snapshot of a reporting disk, taken `days` ago; the disk was deleted since.
    Returns its URL."""
    snapshot = gcp.add_snapshot(
        project,
        name=f"{env}-reports-data-final",
        source_disk=f"{REGION}-a/{env}-reports-data",
        size_gb=200,
        labels={"team": "data"},
        created=dt.datetime.now(dt.UTC) - dt.timedelta(days=days),
    )
    return snapshot["selfLink"]


def long_stopped_vm(gcp: GcpFake, project: str, *, days: int = 60) -> str:
    """The project's first stopped VM (by zone and name), stopped `days` ago by Compute's
    lastStopTimestamp rather than when the estate was built. Returns its name."""
    stopped = sorted(
        (i["zone"], i["name"])
        for i in gcp.resources(project, "instance")
        if i["status"] == "TERMINATED"
    )
    name = stopped[0][1]
    when = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    gcp.set_instance_status(project, name, "TERMINATED", when=when)
    return name


def _balanced_group(gcp: GcpFake, project: str, env: str, n: int, labels: dict[str, str]) -> None:
    """A managed group of web servers behind an external HTTP balancer on a reserved address,
    and behind an internal passthrough balancer."""
    group = gcp.add_instance_group_manager(
        project, name=f"{env}-web", zone=f"{REGION}-a", size=2, machine_type="e2-medium",
        labels={**labels, "team": "web"}, network_tags=["http-server"],
    )  # fmt: skip
    gcp.add_backend_service(project, name=f"{env}-web-backend", groups=[group["instanceGroup"]])
    gcp.add_url_map(project, name=f"{env}-web-map", default_service=f"{env}-web-backend")
    proxy = gcp.add_target_proxy(project, name=f"{env}-web-proxy", url_map=f"{env}-web-map")
    address = gcp.add_address(project, name=f"{env}-web-ip", address=f"34.{n}.100.1")
    gcp.add_forwarding_rule(project, name=f"{env}-web-http", ip_address=address["address"],
                            target=proxy["selfLink"], address=address["selfLink"],
                            labels={"team": "web"})  # fmt: skip
    gcp.add_backend_service(project, name=f"{env}-web-internal", region=REGION,
                            groups=[group["instanceGroup"]], protocol="TCP",
                            scheme="INTERNAL")  # fmt: skip
    gcp.add_forwarding_rule(project, name=f"{env}-web-ilb", region=REGION,
                            ip_address=f"10.{n}.0.50", backend_service=f"{env}-web-internal",
                            scheme="INTERNAL")  # fmt: skip
