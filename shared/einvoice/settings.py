"""Typed settings from the environment (prefix `EINVOICE_`): one base, per-service subclasses."""

from __future__ import annotations

import socket

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that ship in deploy/local/local.env; outside `environment=local` they are refused.
_LOCAL_ONLY_SECRETS = {
    "einvoice-secret",
    "local-dev-only-change-me",
    "bG9jYWwtZGV2LW9ubHktc2VhbGluZy1rZXktMzJieXQ=",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EINVOICE_", extra="ignore")

    environment: str = "local"
    log_level: str = "INFO"
    kafka_bootstrap: str = "127.0.0.1:9092"
    mongo_url: str = "mongodb://127.0.0.1:27017"
    s3_endpoint: str = "http://127.0.0.1:8333"
    s3_region: str = "us-east-1"
    # Unset: boto3's default credential chain (instance role, AWS_* variables, ...).
    s3_access_key: SecretStr | None = None
    s3_secret_key: SecretStr | None = None
    s3_bucket: str = "einvoice-pdfs"
    metrics_port: int = 0  # 0 = no metrics endpoint
    metrics_host: str = "127.0.0.1"  # 0.0.0.0 in a container, so Prometheus can scrape it
    # Link and landing pages customers open; also used in e-mails.
    public_base_url: str = "http://127.0.0.1:8000"
    # Names this replica (leases on outbox jobs): unique among replicas, stable across a
    # replica's restarts. A pod's or host's name; set it when one host runs several.
    replica_id: str = Field(default_factory=socket.gethostname)
    # Fernet keys sealing tenants' mailbox passwords and webhook secrets (einvoice.sealing).
    sealing_keys: SecretStr | None = None
    # KSeF API 2.0 of each environment a tenant can choose (its KSeF settings); locally the
    # `test` environment is the KSeF simulator (deploy/local/local.env).
    ksef_test_url: str = "https://api-test.ksef.mf.gov.pl/v2"
    ksef_demo_url: str = "https://api-demo.ksef.mf.gov.pl/v2"
    ksef_production_url: str = "https://api.ksef.mf.gov.pl/v2"

    @model_validator(mode="after")
    def _no_local_secrets_outside_local(self) -> Settings:
        if self.environment != "local":
            for name, value in self.secrets().items():
                if value in _LOCAL_ONLY_SECRETS:
                    raise ValueError(f"{name} still has the local development value")
        return self

    def ksef_url(self, environment: str) -> str:
        """The KSeF API base URL of an environment (`test`, `demo`, `production`)."""
        urls = {
            "test": self.ksef_test_url,
            "demo": self.ksef_demo_url,
            "production": self.ksef_production_url,
        }
        return urls[environment]

    def secrets(self) -> dict[str, str]:
        return {
            name: value.get_secret_value()
            for name, value in self.__dict__.items()
            if isinstance(value, SecretStr)
        }
