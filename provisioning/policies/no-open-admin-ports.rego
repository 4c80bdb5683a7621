# title: No SSH or RDP open to the world
# enforcement: mandatory
# description: No firewall rule lets 0.0.0.0/0 (or ::/0, "*", "Internet") reach port 22 (SSH)
#   or 3389 (RDP): AWS security groups and their rules, Azure network security rules, Google
#   firewalls.
package mcloud.no_open_admin_ports

import rego.v1

admin_ports := {22, 3389}

world := {"0.0.0.0/0", "::/0", "*", "Internet", "Any"}

port_in(port, from, to) if {
	from <= port
	port <= to
}

# Azure and Google write ports as text: "22", "3380-3390", "*".
port_text_in(port, "*")

port_text_in(port, text) if to_number(text) == port

port_text_in(port, text) if {
	[from, to] := split(text, "-")
	port_in(port, to_number(from), to_number(to))
}

changed(change) if {
	some action in change.change.actions
	action in {"create", "update"}
}

# AWS: inline ingress blocks of a security group.
open contains [change.address, port] if {
	some change in input.plan.resource_changes
	change.type == "aws_security_group"
	changed(change)
	some rule in change.change.after.ingress
	some cidr in array.concat(object.get(rule, "cidr_blocks", []), object.get(rule, "ipv6_cidr_blocks", []))
	cidr in world
	some port in admin_ports
	aws_port(rule, port)
}

# AWS: a separate ingress rule.
open contains [change.address, port] if {
	some change in input.plan.resource_changes
	change.type == "aws_security_group_rule"
	changed(change)
	rule := change.change.after
	rule.type == "ingress"
	some cidr in array.concat(object.get(rule, "cidr_blocks", []), object.get(rule, "ipv6_cidr_blocks", []))
	cidr in world
	some port in admin_ports
	aws_port(rule, port)
}

aws_port(rule, port) if rule.protocol == "-1"

aws_port(rule, port) if {
	rule.protocol != "-1"
	port_in(port, rule.from_port, rule.to_port)
}

# Azure: a network security rule, alone or inside its group.
azure_rules(change) := [change.change.after] if change.type == "azurerm_network_security_rule"

azure_rules(change) := object.get(change.change.after, "security_rule", []) if {
	change.type == "azurerm_network_security_group"
}

open contains [change.address, port] if {
	some change in input.plan.resource_changes
	changed(change)
	some rule in azure_rules(change)
	rule.direction == "Inbound"
	rule.access == "Allow"
	some source in array.concat([object.get(rule, "source_address_prefix", "")], object.get(rule, "source_address_prefixes", []))
	source in world
	some text in array.concat([object.get(rule, "destination_port_range", "")], object.get(rule, "destination_port_ranges", []))
	some port in admin_ports
	port_text_in(port, text)
}

# Google: an ingress firewall from the world; no ports listed means all of them.
open contains [change.address, port] if {
	some change in input.plan.resource_changes
	change.type == "google_compute_firewall"
	changed(change)
	firewall := change.change.after
	object.get(firewall, "direction", "INGRESS") == "INGRESS"
	some source in object.get(firewall, "source_ranges", [])
	source in world
	some allow in firewall.allow
	some port in admin_ports
	google_port(allow, port)
}

google_port(allow, port) if count(object.get(allow, "ports", [])) == 0

google_port(allow, port) if {
	some text in allow.ports
	port_text_in(port, text)
}

deny contains msg if {
	some [address, port] in open
	name := {22: "SSH", 3389: "RDP"}[port]
	msg := sprintf("%s opens %s (port %d) to the whole internet.", [address, name, port])
}
