from einvoice.settings import Settings


class TrackerSettings(Settings):
    metrics_port: int = 9105
    reverse_dns_timeout: float = 2.0
    # An open this soon after its e-mail was sent, from a data-centre range, is a scanner's.
    scanner_window_seconds: int = 120
    # Webhooks (docs/webhooks.md): the first retry after a failed call, doubling up to the
    # cap; a delivery without a 2xx answer for `webhook_give_up_hours` ends as failed.
    webhook_retry_initial_seconds: float = 5.0
    webhook_retry_cap_seconds: float = 3600.0
    webhook_give_up_hours: float = 24.0
    webhook_timeout_seconds: float = 10.0
    webhook_concurrency: int = 8
    # Post to hosts that resolve to loopback or private addresses. Unset: only when
    # `environment` is `local` (its tests run receivers on 127.0.0.1); production keeps it
    # off so a tenant's URL cannot reach the platform's internal network (SSRF).
    webhook_allow_private: bool | None = None

    def webhooks_may_reach_private_addresses(self) -> bool:
        if self.webhook_allow_private is None:
            return self.environment == "local"
        return self.webhook_allow_private
