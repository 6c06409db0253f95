"""Request bodies, as the OpenAPI names their fields (camelCase)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class ContextIdentifier(Body):
    type: str
    value: str


class KsefTokenAuthRequest(Body):
    challenge: str = Field(min_length=36, max_length=36)
    context_identifier: ContextIdentifier
    encrypted_token: str
    public_key_id: str | None = None


class FormCode(Body):
    system_code: str
    schema_version: str
    value: str


class EncryptionInfo(Body):
    encrypted_symmetric_key: str
    initialization_vector: str
    public_key_id: str | None = None


class OpenOnlineSessionRequest(Body):
    form_code: FormCode
    encryption: EncryptionInfo


class BatchFilePart(Body):
    ordinal_number: int = Field(ge=1)
    file_size: int = Field(ge=1)
    file_hash: str = Field(min_length=44, max_length=44)


class BatchFile(Body):
    file_size: int = Field(ge=1, le=5_000_000_000)
    file_hash: str = Field(min_length=44, max_length=44)
    compression_type: str | None = None
    # At least one; more than 50 is KSeF's own 21161, checked by the route.
    file_parts: list[BatchFilePart] = Field(min_length=1)


class OpenBatchSessionRequest(Body):
    form_code: FormCode
    batch_file: BatchFile
    encryption: EncryptionInfo
    offline_mode: bool = False


class SendInvoiceRequest(Body):
    invoice_hash: str = Field(min_length=44, max_length=44)
    invoice_size: int = Field(ge=1)
    encrypted_invoice_hash: str = Field(min_length=44, max_length=44)
    encrypted_invoice_size: int = Field(ge=1)
    encrypted_invoice_content: str
    offline_mode: bool = False
    hash_of_corrected_invoice: str | None = None


class SimTokenRequest(Body):
    nip: str = Field(pattern=r"^\d{10}$")


class SimFaultsRequest(Body):
    outage: bool = False
    delay_seconds: float = Field(default=0.0, ge=0.0, le=600.0)
    throttle_every: int = Field(default=0, ge=0, le=1_000_000)
