"""A minimal valid FA(3) invoice written by hand (one 23% line), until `fa3.build` exists."""

from __future__ import annotations

from datetime import UTC, date, datetime

TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<Faktura xmlns="http://crd.gov.pl/wzor/2025/06/25/13775/">
  <Naglowek>
    <KodFormularza kodSystemowy="FA (3)" wersjaSchemy="1-0E">FA</KodFormularza>
    <WariantFormularza>3</WariantFormularza>
    <DataWytworzeniaFa>{created}</DataWytworzeniaFa>
    <SystemInfo>einvoice tests</SystemInfo>
  </Naglowek>
  <Podmiot1>
    <DaneIdentyfikacyjne>
      <NIP>{seller_nip}</NIP>
      <Nazwa>Wodociągi Testowe Sp. z o.o.</Nazwa>
    </DaneIdentyfikacyjne>
    <Adres>
      <KodKraju>PL</KodKraju>
      <AdresL1>ul. Wodna 1, 00-001 Warszawa</AdresL1>
    </Adres>
  </Podmiot1>
  <Podmiot2>
    <DaneIdentyfikacyjne>
      <NIP>{buyer_nip}</NIP>
      <Nazwa>Odbiorca Sp. z o.o.</Nazwa>
    </DaneIdentyfikacyjne>
    <Adres>
      <KodKraju>PL</KodKraju>
      <AdresL1>ul. Polna 2, 00-002 Warszawa</AdresL1>
    </Adres>
    <JST>2</JST>
    <GV>2</GV>
  </Podmiot2>
  <Fa>
    <KodWaluty>PLN</KodWaluty>
    <P_1>{issue_date}</P_1>
    <P_2>{number}</P_2>
    <P_13_1>100.00</P_13_1>
    <P_14_1>23.00</P_14_1>
    <P_15>123.00</P_15>
    <Adnotacje>
      <P_16>2</P_16>
      <P_17>2</P_17>
      <P_18>2</P_18>
      <P_18A>2</P_18A>
      <Zwolnienie>
        <P_19N>1</P_19N>
      </Zwolnienie>
      <NoweSrodkiTransportu>
        <P_22N>1</P_22N>
      </NoweSrodkiTransportu>
      <P_23>2</P_23>
      <PMarzy>
        <P_PMarzyN>1</P_PMarzyN>
      </PMarzy>
    </Adnotacje>
    <RodzajFaktury>VAT</RodzajFaktury>
    <FaWiersz>
      <NrWierszaFa>1</NrWierszaFa>
      <P_7>Woda zimna</P_7>
      <P_8A>m3</P_8A>
      <P_8B>10</P_8B>
      <P_9A>10.00</P_9A>
      <P_11>100.00</P_11>
      <P_12>23</P_12>
    </FaWiersz>
  </Fa>
</Faktura>
"""


def fa3_invoice(
    seller_nip: str,
    number: str,
    issue_date: date | None = None,
    buyer_nip: str = "5213017228",
) -> bytes:
    """The invoice's exact UTF-8 bytes; `issue_date` (P_1) defaults to today in Warsaw terms
    as the caller passes it (tests pass it explicitly when it matters)."""
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return TEMPLATE.format(
        created=created,
        seller_nip=seller_nip,
        buyer_nip=buyer_nip,
        issue_date=(issue_date or date(2026, 1, 2)).isoformat(),
        number=number,
    ).encode("utf-8")
