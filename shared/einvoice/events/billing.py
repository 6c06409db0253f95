"""What an invoice may carry beyond lines and parties: the billing period of a utility, the
legal basis of a VAT exemption, meter readings, and where its FA(3) XML is stored. Every
field using these is optional, so records written before they existed stay valid."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from einvoice.events.envelope import EventModel, ShortText

# FA(3)'s `TZnakowy`: at most 256 characters.
Text256 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
Reading = Annotated[Decimal, Field(max_digits=16, decimal_places=4)]


class BillingPeriod(EventModel):
    """The period a utility bills (FA(3) `OkresFa`), both days included."""

    start: date = Field(description="First day of the period (FA(3) `P_6_Od`).")
    end: date = Field(
        description="Last day of the period, when the service was completed (`P_6_Do`)."
    )


class VatExemption(EventModel):
    """Why the `zw` lines are exempt from VAT (FA(3) `Zwolnienie`, art. 106e ust. 1 pkt 19)."""

    basis: Literal["act", "directive", "other"] = Field(
        description="`act`: a provision of the Polish VAT act or of a regulation under it "
        "(FA(3) `P_19A`); `directive`: a provision of Directive 2006/112/EC (`P_19B`); "
        "`other`: another legal basis (`P_19C`)."
    )
    text: Text256 = Field(
        description="The provision, as printed on the invoice, e.g. "
        "'art. 43 ust. 1 pkt 10 ustawy o VAT'."
    )


class MeterReading(EventModel):
    """One meter's readings at the start and the end of the billing period (for the PDF)."""

    meter_id: ShortText = Field(description="The meter's number.")
    start: Reading = Field(description="Reading at the start of the period.")
    end: Reading = Field(description="Reading at the end of the period.")
    unit: ShortText = Field(default="m³", description="Unit of the readings, e.g. kWh, m³.")


KsefEnvironment = Literal["test", "demo", "production"]


class KsefTarget(EventModel):
    """Where an invoice goes in KSeF, decided when it is issued (from the tenant's KSeF
    settings at that moment): the environment and the seller's NIP context."""

    environment: KsefEnvironment
    context_nip: ShortText


class Fa3Document(EventModel):
    """The invoice's FA(3) XML in object storage: the exact bytes KSeF and KOD I hash."""

    s3_bucket: str
    s3_key: str = Field(description="`<tenant_id>/<YYYY>/<MM>/<invoice_id>.fa3.xml`.")
    sha256: str = Field(description="SHA-256 of the stored bytes, hexadecimal.")
    size_bytes: int
