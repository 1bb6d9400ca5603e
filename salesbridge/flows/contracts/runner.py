"""One round of the contract request flow: sync, pick up, share documents, sync again.

1. The flow syncs (sync core): new and changed submitted requests come in, statuses and comments decided in
   the hub since the last round go out.
2. Submitted requests are picked up (``pickup``): Account, file downloaded, In Review.
3. Documents of approved requests go back to Salesforce (``sharing``).
4. When requests moved to In Review, the flow syncs again so that Salesforce shows it at once.

Every step is idempotent and reads its work from the tables, so a round after a crash or a failure simply
does what is left; the API calls of the round are summed over the steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from salesbridge.flows.contracts.pickup import PickupResult, pick_up
from salesbridge.flows.contracts.sharing import ShareResult, share_documents
from salesbridge.sync.config import ContractsConfig, HubConfig
from salesbridge.sync.runs import Hub, RunReport


@dataclass
class ContractsRun:
    syncs: list[RunReport] = field(default_factory=list)
    pickup: PickupResult = field(default_factory=PickupResult)
    sharing: ShareResult = field(default_factory=ShareResult)
    api_calls: int = 0

    @property
    def run_ids(self) -> list[int]:
        return [report.run_id for report in self.syncs]

    @property
    def sync_failed(self) -> int:
        """Records the sync core refused (UNMAPPED_VALUE...), over the round's syncs."""
        return sum(report.failed for report in self.syncs)

    @property
    def errors(self) -> dict[str, str]:
        """Flows that failed as a whole (Salesforce unreachable...)."""
        return {name: text for report in self.syncs for name, text in report.errors.items()}

    @property
    def status(self) -> str:
        if self.errors:
            return "failed"
        failed = self.sync_failed or self.pickup.failed or self.sharing.failed
        return "partial" if failed else "succeeded"


def contracts_settings(config: HubConfig) -> ContractsConfig:
    """The ``contracts:`` section (defaults when absent); its flow must exist."""
    settings = config.contracts or ContractsConfig()
    config.flow(settings.flow)
    return settings


def run_contracts(hub: Hub, *, trigger: str = "manual") -> ContractsRun:
    settings = contracts_settings(hub.config)
    result = ContractsRun()
    first = hub.sync([settings.flow], trigger=trigger)
    result.syncs.append(first)
    result.api_calls += first.api_calls
    if first.errors:
        return result
    before = hub.client.api_calls
    result.pickup = pick_up(hub.engine, hub.client, settings, first.run_id)
    result.sharing = share_documents(hub.engine, hub.client, settings.flow, first.run_id)
    result.api_calls += hub.client.api_calls - before
    if result.pickup.picked_up:
        second = hub.sync([settings.flow], trigger=trigger)
        result.syncs.append(second)
        result.api_calls += second.api_calls
    return result
