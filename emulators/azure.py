"""A fake of Azure AD's token endpoint and Azure Resource Manager (ARM), faithful to the wire.

The real SDK clients (azure-identity, azure-mgmt-*) talk to it unchanged, so adapter tests and the
development sandbox exercise the same requests, paging, errors and retries as production:

    fake = AzureFake().start()
    fake.add_subscription(SUB, "Production", TENANT)
    fake.add_app(TENANT, CLIENT_ID, SECRET, subscriptions=[SUB])
    fake.add_vm(SUB, name="web-1")
    credential = ClientSecretCredential(TENANT, CLIENT_ID, SECRET, authority=fake.authority,
                                        disable_instance_discovery=True,
                                        connection_verify=fake.ca_bundle)
    compute = ComputeManagementClient(credential, SUB, base_url=fake.base_url,
                                      credential_scopes=[ARM_SCOPE],
                                      connection_verify=fake.ca_bundle)

Quirks of real Azure kept on purpose, because adapters must cope with them:
- Resource ids are case-insensitive: a VM's `managedDisk.id` spells its resource group in upper
  case, and Cost Management answers `ResourceId` / `ResourceGroupName` in lower case.
- `nextLink` is absolute and carries every query parameter (api-version, statusOnly, $skiptoken).
- A cost query pages by POSTing the same body to `properties.nextLink`, and takes at most two
  groupings.
It speaks HTTPS only: azure-core refuses bearer tokens over plain HTTP.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from emulators.base import FakeServer, Request, Response

ARM_SCOPE = "https://management.azure.com/.default"
# The resources ARM accepts tokens for (the token's audience is the scope minus "/.default").
ARM_AUDIENCES = (
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
    "https://management.azure.com/",
    "https://management.azure.com",
)
POWER_STATES = ("running", "stopped", "deallocated", "starting", "stopping", "deallocating")
COST_COLUMNS = ("Cost", "PreTaxCost", "CostUSD", "PreTaxCostUSD")
# Dimension names Cost Management groups and filters by (case-insensitive), spelled canonically.
DIMENSIONS = {
    name.lower(): name
    for name in (
        "ServiceName",
        "MeterCategory",
        "ResourceId",
        "ResourceLocation",
        "ResourceGroup",
        "ResourceGroupName",
        "ResourceType",
        "SubscriptionId",
        "ChargeType",
    )
}
_PAIRED_REGIONS = {
    "westeurope": "northeurope",
    "northeurope": "westeurope",
    "eastus": "westus",
    "westus": "eastus",
    "eastus2": "centralus",
    "centralus": "eastus2",
    "uksouth": "ukwest",
    "ukwest": "uksouth",
}
_ID = re.compile(
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/(?P<ns>[^/]+)/(?P<type>[^/]+)/(?P<name>[^/]+)",
    re.IGNORECASE,
)
_SCOPE = r"/+subscriptions/(?P<sub>[^/]+)(?:/resourceGroups/(?P<rg>[^/]+))?"


@dataclass
class _App:
    tenant_id: str
    client_id: str
    secret: str
    subscriptions: set[str]
    object_id: str


@dataclass
class _Token:
    client_id: str
    tenant_id: str
    audience: str
    expires_at: float


@dataclass
class _State:
    tenants: set[str] = field(default_factory=set)
    apps: dict[str, _App] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, str]] = field(default_factory=dict)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)  # lower-case id -> JSON
    power: dict[str, str] = field(default_factory=dict)  # lower-case VM id -> power state
    costs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    tokens: dict[str, _Token] = field(default_factory=dict)


class AzureFake(FakeServer):
    """Azure AD (v2.0 client-credentials) and ARM on one HTTPS port; state set by the test."""

    def __init__(self, *, port: int = 0, name: str = "azure-fake") -> None:
        super().__init__(tls=True, port=port, name=name)
        self.page_size = 50  # items per page of an ARM list
        self.cost_page_size = 1000  # rows per page of a cost query (real Azure: 1000 or 5000)
        self.token_lifetime = 3600  # seconds
        self._lock = threading.RLock()
        self._state = _State()
        self._register_routes()

    # --- addresses --------------------------------------------------------------------
    @property
    def authority(self) -> str:
        """What `ClientSecretCredential(authority=...)` takes: host and port, no scheme."""
        return f"127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """What the management clients take as `base_url`."""
        return self.url

    # --- state: identities ------------------------------------------------------------
    def add_tenant(self, tenant_id: str) -> None:
        with self._lock:
            self._state.tenants.add(tenant_id.lower())

    def add_app(
        self, tenant_id: str, client_id: str, secret: str, subscriptions: list[str]
    ) -> None:
        """A service principal with Reader on `subscriptions` (it may sign in to its tenant)."""
        with self._lock:
            self._state.tenants.add(tenant_id.lower())
            self._state.apps[client_id.lower()] = _App(
                tenant_id.lower(),
                client_id,
                secret,
                {s.lower() for s in subscriptions},
                str(uuid.uuid5(uuid.NAMESPACE_URL, f"sp:{client_id.lower()}")),
            )

    def add_subscription(self, subscription_id: str, display_name: str, tenant_id: str) -> None:
        with self._lock:
            self._state.tenants.add(tenant_id.lower())
            self._state.subscriptions[subscription_id.lower()] = {
                "id": subscription_id,
                "name": display_name,
                "tenant": tenant_id,
            }

    # --- state: resources -------------------------------------------------------------
    def add_vm(
        self,
        subscription_id: str,
        *,
        name: str,
        resource_group: str = "rg-default",
        location: str = "westeurope",
        size: str = "Standard_B2s",
        power_state: str = "running",
        tags: dict[str, str] | None = None,
        os_type: str = "Linux",
        created: dt.datetime | None = None,
    ) -> dict[str, Any]:
        if power_state not in POWER_STATES:
            raise ValueError(f"power_state must be one of {POWER_STATES}")
        rid = _resource_id(
            subscription_id, resource_group, "Microsoft.Compute/virtualMachines", name
        )
        disk_name = f"{name}_OsDisk_1_{uuid.uuid5(uuid.NAMESPACE_URL, rid).hex}"
        # Real ARM spells the resource group of nested references in upper case.
        disk_id = _resource_id(
            subscription_id, resource_group.upper(), "Microsoft.Compute/disks", disk_name
        )
        linux = os_type.lower() == "linux"
        properties = {
            "vmId": str(uuid.uuid5(uuid.NAMESPACE_URL, rid)),
            "hardwareProfile": {"vmSize": size},
            "storageProfile": {
                "imageReference": {
                    "publisher": "Canonical" if linux else "MicrosoftWindowsServer",
                    "offer": "ubuntu-24_04-lts" if linux else "WindowsServer",
                    "sku": "server" if linux else "2022-datacenter-azure-edition",
                    "version": "latest",
                },
                "osDisk": {
                    "osType": os_type,
                    "name": disk_name,
                    "createOption": "FromImage",
                    "caching": "ReadWrite",
                    "managedDisk": {"storageAccountType": "Premium_LRS", "id": disk_id},
                    "deleteOption": "Delete",
                    "diskSizeGB": 30 if linux else 127,
                },
                "dataDisks": [],
            },
            "osProfile": {"computerName": name, "adminUsername": "azureuser"},
            "networkProfile": {
                "networkInterfaces": [
                    {
                        "id": _resource_id(
                            subscription_id,
                            resource_group,
                            "Microsoft.Network/networkInterfaces",
                            f"{name}-nic",
                        ),
                        "properties": {"deleteOption": "Delete"},
                    }
                ]
            },
            "provisioningState": "Succeeded",
            "timeCreated": _timestamp(created, "+00:00"),
        }
        vm = _tracked(rid, name, "Microsoft.Compute/virtualMachines", location, tags, properties)
        with self._lock:
            self._state.resources[rid.lower()] = vm
            self._state.power[rid.lower()] = power_state
        return copy.deepcopy(vm)

    def add_disk(
        self,
        subscription_id: str,
        *,
        name: str,
        resource_group: str = "rg-default",
        location: str = "westeurope",
        size_gb: int = 128,
        sku: str = "Premium_LRS",
        state: str | None = None,
        managed_by: str | None = None,
        tags: dict[str, str] | None = None,
        created: dt.datetime | None = None,
    ) -> dict[str, Any]:
        """`state` defaults to "Attached" when `managed_by` names a VM, else "Unattached"."""
        rid = _resource_id(subscription_id, resource_group, "Microsoft.Compute/disks", name)
        properties = {
            "creationData": {"createOption": "Empty"},
            "diskSizeGB": size_gb,
            "diskSizeBytes": size_gb * 2**30,
            "diskIOPSReadWrite": 500,
            "diskMBpsReadWrite": 100,
            "encryption": {"type": "EncryptionAtRestWithPlatformKey"},
            "networkAccessPolicy": "AllowAll",
            "publicNetworkAccess": "Enabled",
            "timeCreated": _timestamp(created, "+00:00"),
            "provisioningState": "Succeeded",
            "diskState": state or ("Attached" if managed_by else "Unattached"),
            "uniqueId": str(uuid.uuid5(uuid.NAMESPACE_URL, rid)),
        }
        disk = _tracked(rid, name, "Microsoft.Compute/disks", location, tags, properties)
        disk["sku"] = {"name": sku, "tier": _sku_tier(sku)}
        if managed_by:
            disk["managedBy"] = managed_by
        with self._lock:
            self._state.resources[rid.lower()] = disk
        return copy.deepcopy(disk)

    def add_storage_account(
        self,
        subscription_id: str,
        *,
        name: str,
        resource_group: str = "rg-default",
        location: str = "westeurope",
        sku: str = "Standard_LRS",
        kind: str = "StorageV2",
        tags: dict[str, str] | None = None,
        created: dt.datetime | None = None,
    ) -> dict[str, Any]:
        if not re.fullmatch(r"[a-z0-9]{3,24}", name):
            raise ValueError("storage account names are 3-24 lower-case letters and digits")
        rid = _resource_id(
            subscription_id, resource_group, "Microsoft.Storage/storageAccounts", name
        )
        when = _timestamp(created, "Z")
        properties: dict[str, Any] = {
            "keyCreationTime": {"key1": when, "key2": when},
            "privateEndpointConnections": [],
            "minimumTlsVersion": "TLS1_2",
            "allowBlobPublicAccess": False,
            "networkAcls": {
                "bypass": "AzureServices",
                "virtualNetworkRules": [],
                "ipRules": [],
                "defaultAction": "Allow",
            },
            "supportsHttpsTrafficOnly": True,
            "encryption": {
                "services": {
                    "file": {"keyType": "Account", "enabled": True, "lastEnabledTime": when},
                    "blob": {"keyType": "Account", "enabled": True, "lastEnabledTime": when},
                },
                "keySource": "Microsoft.Storage",
            },
            "provisioningState": "Succeeded",
            "creationTime": when,
            "primaryEndpoints": {
                service: f"https://{name}.{service}.core.windows.net/"
                for service in ("dfs", "web", "blob", "queue", "table", "file")
            },
            "primaryLocation": location,
            "statusOfPrimary": "available",
        }
        if kind in ("StorageV2", "BlobStorage"):
            properties["accessTier"] = "Hot"
        if "GRS" in sku.upper() and location in _PAIRED_REGIONS:
            properties["secondaryLocation"] = _PAIRED_REGIONS[location]
            properties["statusOfSecondary"] = "available"
        account = _tracked(
            rid, name, "Microsoft.Storage/storageAccounts", location, tags, properties
        )
        account["sku"] = {"name": sku, "tier": _sku_tier(sku)}
        account["kind"] = kind
        with self._lock:
            self._state.resources[rid.lower()] = account
        return copy.deepcopy(account)

    def add_virtual_network(
        self,
        subscription_id: str,
        *,
        name: str,
        resource_group: str = "rg-default",
        location: str = "westeurope",
        address_prefixes: Iterable[str] = ("10.0.0.0/16",),
        subnets: Iterable[tuple[str, str]] = (("default", "10.0.0.0/24"),),
        tags: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        rid = _resource_id(
            subscription_id, resource_group, "Microsoft.Network/virtualNetworks", name
        )
        etag = f'W/"{uuid.uuid5(uuid.NAMESPACE_URL, rid)}"'
        properties = {
            "provisioningState": "Succeeded",
            "resourceGuid": str(uuid.uuid5(uuid.NAMESPACE_URL, rid)),
            "addressSpace": {"addressPrefixes": list(address_prefixes)},
            "subnets": [
                {
                    "name": subnet,
                    "id": f"{rid}/subnets/{subnet}",
                    "etag": etag,
                    "type": "Microsoft.Network/virtualNetworks/subnets",
                    "properties": {
                        "provisioningState": "Succeeded",
                        "addressPrefix": prefix,
                        "delegations": [],
                        "privateEndpointNetworkPolicies": "Disabled",
                        "privateLinkServiceNetworkPolicies": "Enabled",
                    },
                }
                for subnet, prefix in subnets
            ],
            "virtualNetworkPeerings": [],
            "enableDdosProtection": False,
        }
        vnet = _tracked(rid, name, "Microsoft.Network/virtualNetworks", location, tags, properties)
        vnet["etag"] = etag
        with self._lock:
            self._state.resources[rid.lower()] = vnet
        return copy.deepcopy(vnet)

    def remove(self, resource_id: str) -> None:
        """Delete a resource (any id casing); KeyError if there is none."""
        with self._lock:
            del self._state.resources[resource_id.lower()]
            self._state.power.pop(resource_id.lower(), None)

    def set_power_state(self, resource_id: str, state: str) -> None:
        if state not in POWER_STATES:
            raise ValueError(f"state must be one of {POWER_STATES}")
        with self._lock:
            if resource_id.lower() not in self._state.power:
                raise KeyError(f"no virtual machine {resource_id}")
            self._state.power[resource_id.lower()] = state

    def add_costs(self, subscription_id: str, rows: list[dict[str, Any]]) -> None:
        """Usage rows: date, service, resource_id, cost; currency, location and tags optional."""
        checked = []  # bad rows fail here, not as a puzzling 400 from a later query
        for row in rows:
            if missing := {"date", "service", "resource_id", "cost"} - row.keys():
                raise KeyError(f"cost row without {sorted(missing)}: {row!r}")
            day = row["date"]
            if not isinstance(day, dt.date):
                raise TypeError(f"date must be a datetime.date, not {day!r}")
            day = day.date() if isinstance(day, dt.datetime) else day
            Decimal(str(row["cost"]))
            checked.append({"currency": "USD", "location": "westeurope", **row, "date": day})
        with self._lock:
            self._state.costs.setdefault(subscription_id.lower(), []).extend(checked)

    def clear_costs(self, subscription_id: str | None = None) -> None:
        with self._lock:
            if subscription_id is None:
                self._state.costs.clear()
            else:
                self._state.costs.pop(subscription_id.lower(), None)

    def reset(self) -> None:
        """Forget everything: identities, issued tokens, resources, costs, page sizes, faults
        and the request log, so one server can serve a whole test module. Credentials made
        before a reset hold cached tokens that are now invalid: make new ones."""
        with self._lock:
            self._state = _State()
            self.page_size, self.cost_page_size, self.token_lifetime = 50, 1000, 3600
        self.faults.clear()
        self.requests.clear()

    # --- wire: shared -----------------------------------------------------------------
    def error(self, status: int, code: str, message: str) -> Response:
        """ARM's error body, with the request ids every ARM answer carries."""
        return _arm({"error": {"code": code, "message": message}}, status)

    def _register_routes(self) -> None:
        tenant = r"/(?P<tenant>[^/]+)"
        self.route("GET", rf"{tenant}/v2\.0/\.well-known/openid-configuration", faults=False)(
            self._openid_configuration
        )
        self.route("GET", rf"{tenant}/discovery/v2\.0/keys", faults=False)(
            lambda request: Response.json({"keys": []})
        )
        self.route("POST", rf"{tenant}/oauth2/v2\.0/token", faults=False)(self._token)
        self.route("GET", r"/+subscriptions")(self._list_subscriptions)
        self.route("GET", r"/+subscriptions/(?P<sub>[^/]+)")(self._get_subscription)
        self.route("GET", rf"{_SCOPE}/providers/(?P<ns>[^/]+)/(?P<type>[^/]+)")(self._list)
        self.route("GET", rf"{_SCOPE}/providers/(?P<ns>[^/]+)/(?P<type>[^/]+)/(?P<name>[^/]+)")(
            self._get_resource
        )
        self.route("POST", rf"{_SCOPE}/providers/Microsoft\.CostManagement/query")(self._cost)

    # --- wire: Azure AD -----------------------------------------------------------------
    def _aad_error(self, status: int, error: str, code: int, description: str) -> Response:
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        trace, correlation = uuid.uuid4(), uuid.uuid4()
        return Response.json(
            {
                "error": error,
                "error_description": f"AADSTS{code}: {description} Trace ID: {trace} "
                f"Correlation ID: {correlation} Timestamp: {now}",
                "error_codes": [code],
                "timestamp": now,
                "trace_id": str(trace),
                "correlation_id": str(correlation),
                "error_uri": f"{self.url}/error?code={code}",
            },
            status,
        )

    def _unknown_tenant(self, tenant: str) -> Response:
        return self._aad_error(
            400,
            "invalid_tenant",
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and "
            "are signing into the correct cloud.",
        )

    def _openid_configuration(self, request: Request) -> Response:
        tenant = request.params["tenant"]
        with self._lock:
            if tenant.lower() not in self._state.tenants:
                return self._unknown_tenant(tenant)
        base = f"{self.url}/{tenant}"
        return Response.json(
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{base}/v2.0",
                "request_uri_parameter_supported": False,
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                "tenant_region_scope": "EU",
                "cloud_instance_name": "microsoftonline.com",
            }
        )

    def _token(self, request: Request) -> Response:
        """The client-credentials grant, with AAD's error codes for each way it goes wrong."""
        tenant, form = request.params["tenant"], request.form()
        client_id, secret = form.get("client_id", ""), form.get("client_secret")
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):  # client_secret_basic
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        with self._lock:
            if tenant.lower() not in self._state.tenants:
                return self._unknown_tenant(tenant)
            app = self._state.apps.get(client_id.lower())
        if form.get("grant_type") != "client_credentials":
            return self._aad_error(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{form.get('grant_type')}'.",
            )
        if app is None or app.tenant_id != tenant.lower():
            return self._aad_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{tenant}'. This can happen if the application has not been installed by the "
                "administrator of the tenant or consented to by any user in the tenant. You may "
                "have sent your authentication request to the wrong tenant.",
            )
        if not secret:
            return self._aad_error(
                401,
                "invalid_client",
                7000216,
                "'client_assertion', 'client_secret' or 'request' is required for the "
                "'client_credentials' grant type.",
            )
        if not secrets.compare_digest(secret, app.secret):
            return self._aad_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                f"the client secret value, not the client secret ID, for a secret added to app "
                f"'{app.client_id}'.",
            )
        scope = form.get("scope", "").split()
        resource = [s.removesuffix("/.default") for s in scope if s.endswith("/.default")]
        if len(scope) != 1 or not resource:
            return self._aad_error(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {' '.join(scope)} is not valid. Client credential "
                "flows must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).",
            )
        token = secrets.token_urlsafe(48)
        with self._lock:
            self._state.tokens[token] = _Token(
                app.client_id, app.tenant_id, resource[0], time.time() + self.token_lifetime
            )
        return Response.json(
            {
                "token_type": "Bearer",
                "expires_in": self.token_lifetime,
                "ext_expires_in": self.token_lifetime,
                "access_token": token,
            }
        )

    # --- wire: ARM ----------------------------------------------------------------------
    def _authorize(self, request: Request, sub: str | None, action: str) -> _App | Response:
        """The calling app, or the error ARM answers, checked in the order ARM checks them."""
        token = request.bearer_token
        if token is None:
            return _unauthorized(
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
            )
        with self._lock:
            issued = self._state.tokens.get(token)
            app = self._state.apps.get(issued.client_id.lower()) if issued else None
            subscription = self._state.subscriptions.get((sub or "").lower())
        if issued is None or app is None:
            return _unauthorized("InvalidAuthenticationToken", "The access token is invalid.")
        if issued.expires_at < time.time():
            expired = dt.datetime.fromtimestamp(issued.expires_at, dt.UTC)
            return _unauthorized(
                "ExpiredAuthenticationToken",
                f"The access token expiry UTC time '{expired:%m/%d/%Y %H:%M:%S}' is earlier than "
                f"current UTC time '{dt.datetime.now(dt.UTC):%m/%d/%Y %H:%M:%S}'.",
            )
        if issued.audience not in ARM_AUDIENCES:
            return _unauthorized(
                "InvalidAuthenticationToken",
                f"The access token has been obtained for wrong audience or resource "
                f"'{issued.audience}'. It should exactly match with one of the allowed audiences "
                + ",".join(f"'{a}'" for a in ARM_AUDIENCES)
                + ".",
            )
        if not request.arg("api-version"):
            return self.error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        if sub is None:
            return app
        if subscription is None:
            return self.error(
                404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found."
            )
        if subscription["tenant"].lower() != issued.tenant_id:
            return _unauthorized(
                "InvalidAuthenticationTokenTenant",
                f"The access token is from the wrong issuer 'https://sts.windows.net/"
                f"{issued.tenant_id}/'. It must match the tenant 'https://sts.windows.net/"
                f"{subscription['tenant']}/' associated with this subscription.",
            )
        if sub.lower() not in app.subscriptions:
            return self.error(
                403,
                "AuthorizationFailed",
                f"The client '{app.object_id}' with object id '{app.object_id}' does not have "
                f"authorization to perform action '{action}' over scope '/subscriptions/{sub}' "
                "or the scope is invalid. If access was recently granted, please refresh your "
                "credentials.",
            )
        return app

    def _subscription_json(self, sub_id: str) -> dict[str, Any]:
        subscription = self._state.subscriptions[sub_id.lower()]
        return {
            "id": f"/subscriptions/{subscription['id']}",
            "authorizationSource": "RoleBased",
            "managedByTenants": [],
            "subscriptionId": subscription["id"],
            "tenantId": subscription["tenant"],
            "displayName": subscription["name"],
            "state": "Enabled",
            "subscriptionPolicies": {
                "locationPlacementId": "Public_2014-09-01",
                "quotaId": "PayAsYouGo_2014-09-01",
                "spendingLimit": "Off",
            },
        }

    def _get_subscription(self, request: Request) -> Response:
        sub = request.params["sub"]
        caller = self._authorize(request, sub, "Microsoft.Resources/subscriptions/read")
        if isinstance(caller, Response):
            return caller
        with self._lock:
            return _arm(self._subscription_json(sub))

    def _list_subscriptions(self, request: Request) -> Response:
        caller = self._authorize(request, None, "Microsoft.Resources/subscriptions/read")
        if isinstance(caller, Response):
            return caller
        with self._lock:
            value = [
                self._subscription_json(sub)
                for sub, subscription in sorted(self._state.subscriptions.items())
                if sub in caller.subscriptions
                and subscription["tenant"].lower() == caller.tenant_id
            ]
        return _arm({"value": value, "count": {"type": "Total", "value": len(value)}})

    def _list(self, request: Request) -> Response:
        """A provider's list, in pages of `page_size` keyed by the last id sent."""
        sub, rg = request.params["sub"], request.params.get("rg")
        rtype = f"{request.params['ns']}/{request.params['type']}"
        caller = self._authorize(request, sub, f"{rtype}/read")
        if isinstance(caller, Response):
            return caller
        try:
            after = _decode_token(request.arg("$skiptoken"))
        except ValueError as exc:
            return self.error(400, "InvalidSkipToken", str(exc))
        prefix = f"/subscriptions/{sub}/resourcegroups/{rg}/" if rg else f"/subscriptions/{sub}/"
        status_only = (request.arg("statusOnly") or "").lower() == "true"
        with self._lock:
            ids = sorted(
                rid
                for rid, resource in self._state.resources.items()
                if rid.startswith(prefix.lower()) and resource["type"].lower() == rtype.lower()
            )
            if rg and not any(r.startswith(prefix.lower()) for r in self._state.resources):
                return self.error(
                    404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found."
                )
            page = [rid for rid in ids if after is None or rid > after][: self.page_size]
            value = [self._resource_json(rid, instance_view=status_only) for rid in page]
        body: dict[str, Any] = {"value": value}
        if page and page[-1] != ids[-1]:
            body["nextLink"] = self._next_link(request, page[-1])
        return _arm(body)

    def _get_resource(self, request: Request) -> Response:
        sub, rg, name = request.params["sub"], request.params.get("rg"), request.params["name"]
        rtype = f"{request.params['ns']}/{request.params['type']}"
        caller = self._authorize(request, sub, f"{rtype}/read")
        if isinstance(caller, Response):
            return caller
        rid = _resource_id(sub, rg or "", rtype, name).lower()
        with self._lock:
            if rg is None:
                return self.error(404, "NotFound", f"No route for {request.path}")
            if rid not in self._state.resources:
                return self.error(
                    404,
                    "ResourceNotFound",
                    f"The Resource '{rtype}/{name}' under resource group '{rg}' was not found. "
                    "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
                )
            return _arm(self._resource_json(rid, instance_view=False))

    def _resource_json(self, rid: str, *, instance_view: bool) -> dict[str, Any]:
        resource = copy.deepcopy(self._state.resources[rid])
        if instance_view and rid in self._state.power:
            state = self._state.power[rid]
            settled = state in ("running", "stopped", "deallocated")
            provisioning = "succeeded" if settled else "updating"
            resource["properties"]["provisioningState"] = provisioning.capitalize()
            resource["properties"]["instanceView"] = {
                "computerName": resource["name"],
                "statuses": [
                    {
                        "code": f"ProvisioningState/{provisioning}",
                        "level": "Info",
                        "displayStatus": "Provisioning succeeded" if settled else "Updating",
                        "time": _timestamp(None, "+00:00"),
                    },
                    {
                        "code": f"PowerState/{state}",
                        "level": "Info",
                        "displayStatus": f"VM {state}",
                    },
                ],
            }
        return resource

    def _next_link(self, request: Request, after: str) -> str:
        """Absolute, with every query parameter of this request, as real ARM writes it."""
        query = [(k, v) for k, values in request.query.items() for v in values if k != "$skiptoken"]
        query.append(("$skiptoken", _encode_token(after)))
        encoded = "&".join(f"{quote(k, safe='$')}={quote(v, safe='')}" for k, v in query)
        return f"{self.url}{request.path}?{encoded}"

    # --- wire: Cost Management ----------------------------------------------------------
    def _cost(self, request: Request) -> Response:
        """Query.Usage: sums of cost per day (if Daily) and per grouping, paged by $skiptoken."""
        sub, rg = request.params["sub"], request.params.get("rg")
        caller = self._authorize(request, sub, "Microsoft.CostManagement/query/action")
        if isinstance(caller, Response):
            return caller
        with self._lock:
            rows = list(self._state.costs.get(sub.lower(), []))
        if rg:
            rows = [r for r in rows if _dimension(r, sub, "resourcegroupname") == rg.lower()]
        try:
            query = _CostQuery.parse(request.json())
            table = query.run(rows, sub)
            offset = int(_decode_token(request.arg("$skiptoken")) or 0)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return self.error(400, "BadRequest", f"Invalid query definition: {exc}")
        page = table[offset : offset + self.cost_page_size]
        more = offset + self.cost_page_size < len(table)
        next_link = self._next_link(request, str(offset + self.cost_page_size)) if more else None
        query_id = str(uuid.uuid4())
        return _arm(
            {
                "id": f"subscriptions/{sub}/providers/Microsoft.CostManagement/query/{query_id}",
                "name": query_id,
                "type": "Microsoft.CostManagement/query",
                "location": None,
                "sku": None,
                "eTag": None,
                "properties": {"nextLink": next_link, "columns": query.columns(), "rows": page},
            }
        )


@dataclass
class _CostQuery:
    """A parsed QueryDefinition, limited to what Cost Management allows (two groupings)."""

    start: dt.date
    end: dt.date
    daily: bool
    aggregations: list[str]
    groupings: list[str]
    filter: dict[str, Any] | None

    @classmethod
    def parse(cls, body: dict[str, Any]) -> _CostQuery:
        if body.get("type") not in ("Usage", "ActualCost", "AmortizedCost"):
            raise ValueError(f"unsupported type '{body.get('type')}'.")
        start, end = _timeframe(body.get("timeframe"), body.get("timePeriod"))
        if (end - start).days > 366:
            raise ValueError("The time period for pulling the data cannot exceed 1 year(s).")
        dataset = body.get("dataset") or {}
        granularity = dataset.get("granularity") or "None"
        if granularity not in ("Daily", "None"):
            raise ValueError(f"unsupported granularity '{granularity}'.")
        aggregations = []
        for alias, aggregation in (dataset.get("aggregation") or {}).items():
            if aggregation.get("function") != "Sum" or aggregation["name"] not in COST_COLUMNS:
                raise ValueError(f"unsupported aggregation '{alias}'.")
            aggregations.append(aggregation["name"])
        groupings = []
        for grouping in dataset.get("grouping") or []:
            name = grouping["name"].lower()
            if grouping.get("type") != "Dimension" or name not in DIMENSIONS:
                raise ValueError(f"Dimension '{grouping['name']}' is not valid.")
            groupings.append(DIMENSIONS[name])
        if len(groupings) > 2:
            raise ValueError("Query can have up to 2 group by clauses.")
        return cls(
            start,
            end,
            granularity == "Daily",
            aggregations or ["Cost"],
            groupings,
            dataset.get("filter"),
        )

    def columns(self) -> list[dict[str, str]]:
        names = [(a, "Number") for a in self.aggregations]
        names += [("UsageDate", "Number")] if self.daily else []
        names += [(g, "String") for g in self.groupings] + [("Currency", "String")]
        return [{"name": name, "type": kind} for name, kind in names]

    def run(self, rows: list[dict[str, Any]], sub: str) -> list[list[Any]]:
        sums: dict[tuple[Any, ...], Decimal] = {}
        for row in rows:
            if not self.start <= row["date"] <= self.end or not _matches(self.filter, row, sub):
                continue
            day = (int(row["date"].strftime("%Y%m%d")),) if self.daily else ()
            groups = tuple(_dimension(row, sub, g.lower()) for g in self.groupings)
            key = (*day, *groups, row["currency"])
            sums[key] = sums.get(key, Decimal(0)) + Decimal(str(row["cost"]))
        return [
            [*(float(total) for _ in self.aggregations), *key]
            for key, total in sorted(sums.items())
        ]


def _timeframe(timeframe: str | None, period: dict[str, str] | None) -> tuple[dt.date, dt.date]:
    today = dt.datetime.now(dt.UTC).date()
    first = today.replace(day=1)
    if timeframe == "Custom":
        if not period:
            raise ValueError("timePeriod is required when timeframe is Custom.")
        return dt.date.fromisoformat(period["from"][:10]), dt.date.fromisoformat(period["to"][:10])
    if timeframe in ("MonthToDate", "BillingMonthToDate"):
        return first, today
    if timeframe in ("TheLastMonth", "TheLastBillingMonth"):
        last = first - dt.timedelta(days=1)
        return last.replace(day=1), last
    raise ValueError(f"unsupported timeframe '{timeframe}'.")


def _matches(expression: dict[str, Any] | None, row: dict[str, Any], sub: str) -> bool:
    """QueryFilter: `and`, `or`, and `dimensions` / `tags` comparisons with operator In."""
    if not expression:
        return True
    if "and" in expression:
        return all(_matches(e, row, sub) for e in expression["and"])
    if "or" in expression:
        return any(_matches(e, row, sub) for e in expression["or"])
    if "not" in expression:
        return not _matches(expression["not"], row, sub)
    if "dimensions" in expression:
        comparison = expression["dimensions"]
        if comparison["name"].lower() not in DIMENSIONS:
            raise ValueError(f"Dimension '{comparison['name']}' is not valid.")
        value = _dimension(row, sub, comparison["name"].lower())
    elif "tags" in expression:
        comparison = expression["tags"]
        value = (row.get("tags") or {}).get(comparison["name"], "")
    else:
        raise ValueError("a filter needs and, or, dimensions or tags.")
    return value.lower() in {v.lower() for v in comparison["values"]}


def _dimension(row: dict[str, Any], sub: str, name: str) -> str:
    """A row's value for a dimension, spelled as Cost Management answers (ids in lower case)."""
    match = _ID.match(row["resource_id"])
    if name in ("servicename", "metercategory"):
        return str(row["service"])
    if name == "resourceid":
        return str(row["resource_id"]).lower()
    if name == "resourcelocation":
        return str(row["location"])
    if name in ("resourcegroup", "resourcegroupname"):
        return match["rg"].lower() if match else ""
    if name == "resourcetype":
        return f"{match['ns']}/{match['type']}".lower() if match else ""
    if name == "subscriptionid":
        return sub
    return "Usage"  # ChargeType


def _resource_id(sub: str, rg: str, rtype: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{rtype}/{name}"


def _tracked(
    rid: str,
    name: str,
    rtype: str,
    location: str,
    tags: dict[str, str] | None,
    properties: dict[str, Any],
) -> dict[str, Any]:
    """A tracked resource's envelope; ARM leaves `tags` out when a resource has none."""
    resource: dict[str, Any] = {"id": rid, "name": name, "type": rtype, "location": location}
    if tags is not None:
        resource["tags"] = dict(tags)
    resource["properties"] = properties
    return resource


def _sku_tier(sku: str) -> str:
    return "Premium" if sku.startswith("Premium") else "Ultra" if "Ultra" in sku else "Standard"


def _timestamp(when: dt.datetime | None, zone: str) -> str:
    """ARM's seven-digit fractions; Compute ends with "+00:00", Storage with "Z"."""
    when = when or dt.datetime.now(dt.UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return f"{when.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%S.%f}0{zone}"


def _encode_token(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def _decode_token(token: str | None) -> str | None:
    """The value inside a $skiptoken; ValueError for one this server did not write."""
    if not token:
        return None
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"The skip token '{token}' is not valid.") from exc


def _arm(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    request_id = str(uuid.uuid4())
    now = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return Response.json(
        data,
        status,
        {
            "x-ms-request-id": request_id,
            "x-ms-correlation-request-id": request_id,
            "x-ms-routing-request-id": f"WESTEUROPE:{now}:{request_id}",
            **(headers or {}),
        },
    )


def _unauthorized(code: str, message: str) -> Response:
    """ARM's 401; its challenge carries no claims, so azure-core raises instead of retrying."""
    challenge = (
        'Bearer authorization_uri="https://login.microsoftonline.com/common", '
        f'error="invalid_token", error_description="{message}"'
    )
    return _arm({"error": {"code": code, "message": message}}, 401, {"WWW-Authenticate": challenge})
