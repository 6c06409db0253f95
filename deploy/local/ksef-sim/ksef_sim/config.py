"""The simulator's settings, read from the environment (prefix `KSEF_SIM_`)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class SimSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KSEF_SIM_")

    host: str = "127.0.0.1"
    port: int = 8088
    # The key pair and its certificates live here, so a restart keeps them.
    data_dir: Path = Path(".run/data/ksef-sim")
    # How long an accepted invoice stays "150 Trwa przetwarzanie" before its verdict shows.
    processing_delay_seconds: float = 0.0
    # How long a closed batch session shows "150 Trwa przetwarzanie" before its package is
    # processed (then each invoice waits processing_delay_seconds more, as online).
    batch_processing_delay_seconds: float = 0.0
    # How clients reach us; the base of the UPO download links (default http://host:port).
    public_url: str = ""
    # The base of the pre-signed batch part upload URLs (default: base_url). The
    # `ksef-client` SDK refuses loopback hosts there; see the README.
    upload_url: str = ""
    # Rate limits: "test" (the TE environment's, ten times production), "production", "off".
    rate_limits: str = "test"
    access_token_minutes: int = 15
    refresh_token_days: int = 7
    challenge_minutes: int = 10
    session_hours: int = 12

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"

    @property
    def upload_base_url(self) -> str:
        return self.upload_url.rstrip("/") or self.base_url
