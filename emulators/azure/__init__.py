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
- Resource Graph (emulators.azure.resource_graph) evaluates the KQL it is sent over the same
  resources, spells `type` in lower case and pages with `$skipToken`.
It speaks HTTPS only: azure-core refuses bearer tokens over plain HTTP.
"""

from __future__ import annotations

import threading

from emulators.azure.arm import POWER_STATES, ArmMixin
from emulators.azure.arm_actions import ArmActionsMixin
from emulators.azure.arm_services import ServicesMixin
from emulators.azure.costs import COST_COLUMNS, DIMENSIONS, CostsMixin
from emulators.azure.identity import IdentityMixin
from emulators.azure.management_groups import ManagementGroupsMixin
from emulators.azure.resource_graph import ResourceGraphMixin
from emulators.azure.state import _SCOPE, ARM_AUDIENCES, ARM_SCOPE, _arm, _State
from emulators.base import FakeServer, Response

__all__ = ["ARM_AUDIENCES", "ARM_SCOPE", "COST_COLUMNS", "DIMENSIONS", "POWER_STATES", "AzureFake"]


class AzureFake(
    IdentityMixin,
    ArmMixin,
    ArmActionsMixin,
    ManagementGroupsMixin,
    ServicesMixin,
    ResourceGraphMixin,
    CostsMixin,
    FakeServer,
):
    """Azure AD (v2.0 client-credentials), ARM and Resource Graph on one HTTPS port; state set
    by the test."""

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

    def reset(self) -> None:
        """Forget everything: identities, issued tokens, resources, costs, page sizes, faults
        and the request log, so one server can serve a whole test module. Credentials made
        before a reset hold cached tokens that are now invalid: make new ones."""
        with self._lock:
            self._state = _State()
            self.page_size, self.cost_page_size, self.token_lifetime = 50, 1000, 3600
            self.next_link_override = None
            self.graph_page_size, self.graph_skip_token_override = 1000, None
            self.operation_polls = 1
        self.faults.clear()
        self.requests.clear()
        self.request_times.clear()

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
        self._register_action_routes()
        self._register_management_group_routes()
        self.route("POST", r"/+providers/Microsoft\.ResourceGraph/resources")(self._graph_query)
