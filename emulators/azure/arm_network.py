"""Azure networking in the ARM fake: subnets, network security groups, public IP addresses,
network interfaces, load balancers, application gateways, NAT gateways and DNS zones.

Every association is written on both sides, as ARM reports them: a NIC's subnet lists the
NIC's IP configuration, a public IP names the IP configuration that holds it, a backend pool
lists its members' IP configurations, a NAT gateway and its subnets name each other. As real
ARM does, references held inside a NIC spell the resource group in upper case."""

from __future__ import annotations

import copy
import ipaddress
import uuid
from collections.abc import Iterable
from typing import Any

from emulators.azure.arm import _tracked
from emulators.azure.state import AzurePart, _resource_id

NETWORK = "Microsoft.Network"
_DEFAULT_RULES = (  # every NSG's defaultSecurityRules: name, priority, direction, access, source
    ("AllowVnetInBound", 65000, "Inbound", "Allow", "VirtualNetwork"),
    ("AllowAzureLoadBalancerInBound", 65001, "Inbound", "Allow", "AzureLoadBalancer"),
    ("DenyAllInBound", 65500, "Inbound", "Deny", "*"),
    ("AllowVnetOutBound", 65000, "Outbound", "Allow", "VirtualNetwork"),
    ("AllowInternetOutBound", 65001, "Outbound", "Allow", "*"),
    ("DenyAllOutBound", 65500, "Outbound", "Deny", "*"),
)


def _ref(resource_id: str) -> dict[str, str]:
    return {"id": resource_id}


def _upper_group(resource_id: str) -> str:
    """The id as ARM writes it inside a NIC: the resource group in upper case."""
    parts = resource_id.split("/")
    if len(parts) > 4 and parts[3].lower() == "resourcegroups":
        parts[4] = parts[4].upper()
    return "/".join(parts)


def _child(parent: str, kind: str, name: str, **properties: Any) -> dict[str, Any]:
    """A child resource (an IP configuration, a pool, a rule) as ARM embeds it."""
    return {"id": f"{parent}/{kind}/{name}", "name": name,
            "properties": {"provisioningState": "Succeeded", **properties}}  # fmt: skip


class NetworkMixin(AzurePart):
    # --- what the other helpers share ---------------------------------------------------
    def _stored(self, resource_id: str) -> dict[str, Any]:
        """The stored JSON of a resource (any id casing), to change in place under the lock."""
        return self._state.resources[resource_id.lower()]

    def _put(self, resource: dict[str, Any], **extra: Any) -> dict[str, Any]:
        resource.update(extra)
        with self._lock:
            self._state.resources[resource["id"].lower()] = resource
        return copy.deepcopy(resource)

    def _new(
        self,
        sub: str,
        group: str,
        rtype: str,
        name: str,
        location: str,
        tags: dict[str, str] | None,
        properties: dict[str, Any],
    ) -> dict[str, Any]:
        rid = _resource_id(sub, group, rtype, name)
        guid = str(uuid.uuid5(uuid.NAMESPACE_URL, rid))
        base = {"provisioningState": "Succeeded", "resourceGuid": guid}
        resource = _tracked(rid, name, rtype, location, tags, {**base, **properties})
        resource["etag"] = f'W/"{guid}"'
        return resource

    def _subnet(self, subnet_id: str) -> dict[str, Any]:
        """A subnet as its virtual network holds it; KeyError if there is none."""
        vnet_id, _, name = subnet_id.rpartition("/subnets/")
        for subnet in self._stored(vnet_id)["properties"]["subnets"]:
            if subnet["name"].lower() == name.lower():
                return subnet
        raise KeyError(subnet_id)

    # --- subnets and network security groups -------------------------------------------
    def add_subnet(self, vnet_id: str, name: str, prefix: str) -> dict[str, Any]:
        with self._lock:
            vnet = self._stored(vnet_id)
            subnet = {"id": f"{vnet['id']}/subnets/{name}", "name": name, "etag": vnet["etag"],
                      "type": f"{NETWORK}/virtualNetworks/subnets",
                      "properties": {"provisioningState": "Succeeded", "addressPrefix": prefix,
                                     "delegations": [],
                                     "privateEndpointNetworkPolicies": "Disabled",
                                     "privateLinkServiceNetworkPolicies": "Enabled"}}  # fmt: skip
            vnet["properties"]["subnets"].append(subnet)
            return copy.deepcopy(subnet)

    def add_network_security_group(
        self, sub: str, *, name: str, resource_group: str = "rg-default",
        location: str = "westeurope", rules: Iterable[tuple[str, int, int]] = (),
        subnet_ids: Iterable[str] = (), tags: dict[str, str] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """`rules`: (name, priority, destination port) allowed inbound over TCP from anywhere."""
        rid = _resource_id(sub, resource_group, f"{NETWORK}/networkSecurityGroups", name)

        def rule(kind: str, rule_name: str, priority: int, direction: str, access: str,
                 source: str, port: str) -> dict[str, Any]:  # fmt: skip
            made = _child(rid, kind, rule_name, protocol="Tcp" if port != "*" else "*",
                          sourcePortRange="*", destinationPortRange=port,
                          sourceAddressPrefix=source, destinationAddressPrefix="*",
                          access=access, priority=priority, direction=direction,
                          sourcePortRanges=[], destinationPortRanges=[],
                          sourceAddressPrefixes=[], destinationAddressPrefixes=[])  # fmt: skip
            made["type"] = f"{NETWORK}/networkSecurityGroups/{kind}"
            return made

        nsg = self._new(sub, resource_group, f"{NETWORK}/networkSecurityGroups", name, location,
                        tags, {
            "securityRules": [rule("securityRules", n, p, "Inbound", "Allow", "*", str(port))
                              for n, p, port in rules],
            "defaultSecurityRules": [rule("defaultSecurityRules", n, p, d, a, s, "*")
                                     for n, p, d, a, s in _DEFAULT_RULES],
            "networkInterfaces": [], "subnets": []})  # fmt: skip
        with self._lock:
            for subnet_id in subnet_ids:
                self._subnet(subnet_id)["properties"]["networkSecurityGroup"] = _ref(rid)
                nsg["properties"]["subnets"].append(_ref(subnet_id))
            return self._put(nsg)

    # --- public IP addresses and network interfaces ------------------------------------
    def add_public_ip(
        self, sub: str, *, name: str, address: str, resource_group: str = "rg-default",
        location: str = "westeurope", sku: str = "Standard", dns_label: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        properties: dict[str, Any] = {
            "ipAddress": address, "publicIPAddressVersion": "IPv4",
            "publicIPAllocationMethod": "Static" if sku == "Standard" else "Dynamic",
            "idleTimeoutInMinutes": 4, "ipTags": [],
            "ddosSettings": {"protectionMode": "VirtualNetworkInherited"},
        }  # fmt: skip
        if dns_label:
            properties["dnsSettings"] = {
                "domainNameLabel": dns_label,
                "fqdn": f"{dns_label}.{location}.cloudapp.azure.com",
            }
        ip = self._new(sub, resource_group, f"{NETWORK}/publicIPAddresses", name, location,
                       tags, properties)  # fmt: skip
        return self._put(ip, sku={"name": sku, "tier": "Regional"})

    def attach_network(
        self, vm_id: str, *, subnet_id: str, public_ip_id: str | None = None,
        nsg_id: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """The NIC a VM names (`<vm>-nic`), in `subnet_id`, with a public IP and an NSG."""
        with self._lock:
            vm = self._stored(vm_id)
            nic_id = vm["properties"]["networkProfile"]["networkInterfaces"][0]["id"]
            sub, group, name = nic_id.split("/")[2], nic_id.split("/")[4], nic_id.split("/")[-1]
            subnet = self._subnet(subnet_id)
            members = subnet["properties"].setdefault("ipConfigurations", [])
            network = ipaddress.ip_network(subnet["properties"]["addressPrefix"], strict=False)
            config = _child(nic_id, "ipConfigurations", "ipconfig1",
                            privateIPAddress=str(network.network_address + 4 + len(members)),
                            privateIPAllocationMethod="Dynamic", primary=True,
                            privateIPAddressVersion="IPv4",
                            subnet=_ref(_upper_group(subnet["id"])))  # fmt: skip
            config["type"] = f"{NETWORK}/networkInterfaces/ipConfigurations"
            members.append(_ref(config["id"]))
            nic = self._new(sub, group, f"{NETWORK}/networkInterfaces", name, vm["location"],
                            None, {"ipConfigurations": [config], "primary": True,
                                   "macAddress": "00-0D-3A-" + uuid.uuid5(uuid.NAMESPACE_URL,
                                                                          nic_id).hex[:6].upper(),
                                   "enableAcceleratedNetworking": False,
                                   "enableIPForwarding": False, "nicType": "Standard",
                                   "dnsSettings": {"dnsServers": [], "appliedDnsServers": []},
                                   "virtualMachine": _ref(vm["id"])})  # fmt: skip
            if public_ip_id:
                config["properties"]["publicIPAddress"] = _ref(_upper_group(public_ip_id))
                self._stored(public_ip_id)["properties"]["ipConfiguration"] = _ref(config["id"])
            if nsg_id:
                nic["properties"]["networkSecurityGroup"] = _ref(_upper_group(nsg_id))
                self._stored(nsg_id)["properties"]["networkInterfaces"].append(_ref(nic_id))
            return self._put(nic)

    def _ip_configuration(self, vm_id: str) -> dict[str, Any]:
        nic_id = self._stored(vm_id)["properties"]["networkProfile"]["networkInterfaces"][0]["id"]
        return self._stored(nic_id)["properties"]["ipConfigurations"][0]

    # --- load balancers and application gateways ---------------------------------------
    def add_load_balancer(
        self, sub: str, *, name: str, resource_group: str = "rg-default",
        location: str = "westeurope", public_ip_id: str | None = None,
        subnet_id: str | None = None, backend_vm_ids: Iterable[str] = (),
        backend_scale_set_ids: Iterable[str] = (), port: int = 80,
        tags: dict[str, str] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """Public with `public_ip_id`, else internal in `subnet_id`; one pool, rule and probe."""
        rid = _resource_id(sub, resource_group, f"{NETWORK}/loadBalancers", name)
        frontend = _child(rid, "frontendIPConfigurations", "frontend",
                          privateIPAllocationMethod="Dynamic",
                          loadBalancingRules=[_ref(f"{rid}/loadBalancingRules/http")])  # fmt: skip
        if public_ip_id:
            frontend["properties"]["publicIPAddress"] = _ref(public_ip_id)
        elif subnet_id:
            frontend["properties"].update(subnet=_ref(subnet_id), privateIPAddressVersion="IPv4")
        pool = _child(rid, "backendAddressPools", "backend", backendIPConfigurations=[],
                      loadBalancerBackendAddresses=[],
                      loadBalancingRules=[_ref(f"{rid}/loadBalancingRules/http")])  # fmt: skip
        rule = _child(rid, "loadBalancingRules", "http", frontendPort=port, backendPort=port,
                      protocol="Tcp", enableFloatingIP=False, idleTimeoutInMinutes=4,
                      loadDistribution="Default", disableOutboundSnat=True,
                      frontendIPConfiguration=_ref(frontend["id"]),
                      backendAddressPool=_ref(pool["id"]),
                      probe=_ref(f"{rid}/probes/http"))  # fmt: skip
        probe = _child(rid, "probes", "http", protocol="Tcp", port=port, intervalInSeconds=5,
                       numberOfProbes=1, probeThreshold=1)  # fmt: skip
        lb = self._new(sub, resource_group, f"{NETWORK}/loadBalancers", name, location, tags,
                       {"frontendIPConfigurations": [frontend], "backendAddressPools": [pool],
                        "loadBalancingRules": [rule], "probes": [probe], "inboundNatRules": [],
                        "outboundRules": [], "inboundNatPools": []})  # fmt: skip
        members = pool["properties"]["backendIPConfigurations"]
        with self._lock:
            if public_ip_id:
                self._stored(public_ip_id)["properties"]["ipConfiguration"] = _ref(frontend["id"])
            for vm_id in backend_vm_ids:
                config = self._ip_configuration(vm_id)
                config["properties"].setdefault("loadBalancerBackendAddressPools", []).append(
                    _ref(pool["id"])
                )
                members.append(_ref(config["id"]))
            for vmss_id in backend_scale_set_ids:
                members += self._join_scale_set(vmss_id, "loadBalancerBackendAddressPools", pool)
            return self._put(lb, sku={"name": "Standard", "tier": "Regional"})

    def _join_scale_set(self, vmss_id: str, key: str, pool: dict[str, Any]) -> list[Any]:
        """Put a scale set's NICs in a pool; the pool's members are its instances' NICs."""
        vmss = self._stored(vmss_id)
        profile = vmss["properties"]["virtualMachineProfile"]["networkProfile"]
        nic = profile["networkInterfaceConfigurations"][0]
        config = nic["properties"]["ipConfigurations"][0]
        config["properties"].setdefault(key, []).append(_ref(pool["id"]))
        return [
            _ref(f"{vmss['id']}/virtualMachines/{n}/networkInterfaces/{nic['name']}"
                 f"/ipConfigurations/{config['name']}")
            for n in range(vmss["sku"]["capacity"])
        ]  # fmt: skip

    def add_application_gateway(
        self, sub: str, *, name: str, subnet_id: str, public_ip_id: str,
        resource_group: str = "rg-default", location: str = "westeurope",
        backend_vm_ids: Iterable[str] = (), state: str = "Running",
        tags: dict[str, str] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        rid = _resource_id(sub, resource_group, f"{NETWORK}/applicationGateways", name)
        frontend = _child(rid, "frontendIPConfigurations", "appGwPublicFrontendIp",
                          privateIPAllocationMethod="Dynamic",
                          publicIPAddress=_ref(public_ip_id))  # fmt: skip
        pool = _child(rid, "backendAddressPools", "backend", backendAddresses=[],
                      backendIPConfigurations=[])  # fmt: skip
        gateway = self._new(sub, resource_group, f"{NETWORK}/applicationGateways", name,
                            location, tags, {
            "sku": {"name": "Standard_v2", "tier": "Standard_v2", "capacity": 2},
            "operationalState": state,
            "gatewayIPConfigurations": [_child(rid, "gatewayIPConfigurations",
                                               "appGatewayIpConfig", subnet=_ref(subnet_id))],
            "frontendIPConfigurations": [frontend],
            "frontendPorts": [_child(rid, "frontendPorts", "port_80", port=80)],
            "backendAddressPools": [pool],
            "backendHttpSettingsCollection": [_child(
                rid, "backendHttpSettingsCollection", "http", port=80, protocol="Http",
                cookieBasedAffinity="Disabled", requestTimeout=20)],
            "httpListeners": [_child(rid, "httpListeners", "listener", protocol="Http",
                                     frontendIPConfiguration=_ref(frontend["id"]),
                                     frontendPort=_ref(f"{rid}/frontendPorts/port_80"))],
            "requestRoutingRules": [_child(rid, "requestRoutingRules", "rule",
                                           ruleType="Basic", priority=100)],
            "enableHttp2": False})  # fmt: skip
        with self._lock:
            self._stored(public_ip_id)["properties"]["ipConfiguration"] = _ref(frontend["id"])
            for vm_id in backend_vm_ids:
                config = self._ip_configuration(vm_id)
                config["properties"].setdefault("applicationGatewayBackendAddressPools", []).append(
                    _ref(pool["id"])
                )
                pool["properties"]["backendIPConfigurations"].append(_ref(config["id"]))
            return self._put(gateway)

    # --- NAT gateways and DNS zones -----------------------------------------------------
    def add_nat_gateway(
        self, sub: str, *, name: str, resource_group: str = "rg-default",
        location: str = "westeurope", public_ip_ids: Iterable[str] = (),
        subnet_ids: Iterable[str] = (), tags: dict[str, str] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        rid = _resource_id(sub, resource_group, f"{NETWORK}/natGateways", name)
        ips, subnets = list(public_ip_ids), list(subnet_ids)
        gateway = self._new(sub, resource_group, f"{NETWORK}/natGateways", name, location, tags,
                            {"idleTimeoutInMinutes": 4,
                             "publicIpAddresses": [_ref(i) for i in ips],
                             "subnets": [_ref(s) for s in subnets]})  # fmt: skip
        with self._lock:
            for ip in ips:
                self._stored(ip)["properties"]["natGateway"] = _ref(rid)
            for subnet in subnets:
                self._subnet(subnet)["properties"]["natGateway"] = _ref(rid)
            return self._put(gateway, sku={"name": "Standard"})

    def add_dns_zone(
        self, sub: str, *, name: str, resource_group: str = "rg-default", record_sets: int = 2,
        tags: dict[str, str] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """A public zone (its NS and SOA records are its first two record sets)."""
        zone = self._new(sub, resource_group, f"{NETWORK}/dnszones", name, "global", tags, {
            "maxNumberOfRecordSets": 10000, "numberOfRecordSets": record_sets,
            "nameServers": ["ns1-01.azure-dns.com.", "ns2-01.azure-dns.net.",
                            "ns3-01.azure-dns.org.", "ns4-01.azure-dns.info."],
            "zoneType": "Public"})  # fmt: skip
        del zone["properties"]["provisioningState"], zone["properties"]["resourceGuid"]
        return self._put(zone)
