"""The symbologies drawn by libzint (through zint-bindings): API name, zint id, label, family,
accepted data, the longest data some input of that length fits (the limit checked before
anything else; test_symbologies proves each), a valid example, and the zxing-cpp formats that can read it back (empty:
zxing-cpp cannot read it, so it is served unverified).

Composite symbologies (*_CC, a linear symbol plus a 2D component given separately) are not
offered yet: they need a second data field in the request.
"""
from __future__ import annotations

from typing import NamedTuple


class ZintEntry(NamedTuple):
    name: str
    zint: str  # zint.Symbology member
    label: str
    family: str
    data: str
    max_length: int
    example: str
    zxing: tuple[str, ...] = ()  # zxingcpp.BarcodeFormat names that decode it


LIN, TWO_D, STACKED, POSTAL, PHARMA, RETAIL, GS1, HIBC = (
    "linear", "2d", "stacked", "postal", "pharma", "retail", "gs1", "hibc")

ZINT_TABLE: tuple[ZintEntry, ...] = (
    # Shared with python-barcode (engine chosen per company profile; python-barcode is the default).
    ZintEntry("code128", "CODE128", "Code 128", LIN, "ASCII and Latin-1", 256, "HELLO-123", ("Code128",)),
    ZintEntry("code39", "CODE39", "Code 39", LIN, "A-Z 0-9 space - . $ / + %", 86, "HELLO-123", ("Code39", "Code39Std")),
    ZintEntry("codabar", "CODABAR", "Codabar (NW-7)", LIN, "0-9 - $ : / . + with start/stop A-D", 103, "A40156B", ("Codabar",)),
    ZintEntry("itf", "C25INTER", "Interleaved 2 of 5", LIN, "digits", 125, "12345670", ("ITF",)),
    ZintEntry("ean13", "EANX", "EAN-13 (add-on after +)", RETAIL, "12 digits (+2 or +5 add-on)", 19, "5901234123457", ("EAN13",)),
    ZintEntry("ean8", "EANX", "EAN-8", RETAIL, "7 digits", 8, "96385074", ("EAN8",)),
    ZintEntry("upca", "UPCA", "UPC-A", RETAIL, "11 digits (+2 or +5 add-on)", 18, "036000291452", ("UPCA", "EAN13")),
    ZintEntry("isbn13", "ISBNX", "ISBN (EAN-13)", RETAIL, "ISBN-13 or ISBN-10", 17, "9783161484100", ("EAN13", "ISBN")),
    ZintEntry("ean14", "EAN14", "EAN-14 / GTIN-14 (GS1-128)", GS1, "13 digits", 14, "09501101530003", ("Code128",)),
    ZintEntry("gs1_128", "GS1_128", "GS1-128", GS1, "GS1 AIs, e.g. (01)09501101530003(10)AB12", 62,
              "(01)09501101530003(10)AB12", ("Code128",)),
    # zint only: linear and industrial.
    ZintEntry("code11", "CODE11", "Code 11", LIN, "0-9 -", 140, "123-45"),
    ZintEntry("c25standard", "C25STANDARD", "Standard 2 of 5 (Matrix)", LIN, "digits", 112, "12345678"),
    ZintEntry("c25iata", "C25IATA", "IATA 2 of 5", LIN, "digits", 80, "12345678"),
    ZintEntry("c25logic", "C25LOGIC", "Data Logic 2 of 5", LIN, "digits", 113, "12345678"),
    ZintEntry("c25industrial", "C25IND", "Industrial 2 of 5", LIN, "digits", 79, "12345678"),
    ZintEntry("code39ext", "EXCODE39", "Code 39 Extended (full ASCII)", LIN, "ASCII", 86, "Hello!", ("Code39Ext", "Code39")),
    ZintEntry("logmars", "LOGMARS", "LOGMARS (Code 39)", LIN, "A-Z 0-9 - . $ / + % space", 30, "HELLO-123", ("Code39",)),
    ZintEntry("code93", "CODE93", "Code 93", LIN, "ASCII", 123, "HELLO-123", ("Code93",)),
    ZintEntry("code128ab", "CODE128AB", "Code 128 (subsets A/B only)", LIN, "ASCII", 101, "HELLO", ("Code128",)),
    ZintEntry("telepen", "TELEPEN", "Telepen Alpha", LIN, "ASCII", 69, "Hello", ("Telepen", "TelepenAlpha")),
    ZintEntry("telepen-numeric", "TELEPEN_NUM", "Telepen Numeric", LIN, "digits (X allowed)", 136, "1234567890"),
    ZintEntry("msi", "MSI_PLESSEY", "MSI Plessey", LIN, "digits", 92, "1234567"),
    ZintEntry("plessey", "PLESSEY", "UK Plessey", LIN, "0-9 A-F", 67, "12345ABCDEF"),
    ZintEntry("channel", "CHANNEL", "Channel Code", LIN, "number 0-7742862", 7, "1234"),
    ZintEntry("bc412", "BC412", "BC412 (IBM)", LIN, "0-9 A-Z except O, 7-18 characters", 18, "AQ45670"),
    ZintEntry("flattermarken", "FLAT", "Flattermarken", LIN, "digits", 128, "1304056"),
    ZintEntry("vin", "VIN", "Vehicle Identification Number (Code 39)", LIN, "17 characters with VIN check digit", 17,
              "1M8GDM9AXKP042788", ("Code39",)),
    ZintEntry("dx-film-edge", "DXFILMEDGE", "DX Film Edge", LIN, "DX number, optional /frame", 10, "112-1/10A", ("DXFilmEdge",)),
    ZintEntry("dpleit", "DPLEIT", "Deutsche Post Leitcode", POSTAL, "13 digits", 13, "2045703000360", ("ITF",)),
    ZintEntry("dpident", "DPIDENT", "Deutsche Post Identcode", POSTAL, "11 digits", 11, "56310243031", ("ITF",)),
    ZintEntry("dpd", "DPD", "DPD parcel code (Code 128)", POSTAL, "27 or 28 characters", 28,
              "%000393206219912345678101040", ("Code128",)),
    ZintEntry("upu-s10", "UPU_S10", "UPU S10 item identifier", POSTAL, "2 letters, 8 digits + check, 2 letters", 13,
              "EE876543216CA", ("Code128",)),
    ZintEntry("upce", "UPCE", "UPC-E", RETAIL, "6 or 7 digits (+2 or +5 add-on)", 14, "0123456", ("UPCE",)),
    ZintEntry("itf14", "ITF14", "ITF-14", GS1, "13 digits", 14, "0950110153000", ("ITF", "ITF14")),
    ZintEntry("sscc18", "NVE18", "SSCC-18 / NVE-18 (GS1-128)", GS1, "17 digits", 17, "12345678901234567", ("Code128",)),
    ZintEntry("databar", "DBAR_OMN", "GS1 DataBar Omnidirectional", GS1, "13 digits (GTIN)", 14, "0950110153000",
              ("DataBar", "DataBarOmni")),
    ZintEntry("databar-limited", "DBAR_LTD", "GS1 DataBar Limited", GS1, "13 digits starting 0 or 1", 14, "0950110153000",
              ("DataBarLimited", "DataBarLtd")),
    ZintEntry("databar-expanded", "DBAR_EXP", "GS1 DataBar Expanded", GS1, "GS1 AIs", 74,
              "(01)09501101530003(3103)000123", ("DataBarExpanded", "DataBarExp")),
    ZintEntry("databar-stacked", "DBAR_STK", "GS1 DataBar Stacked", GS1, "13 digits", 14, "0950110153000",
              ("DataBarStk", "DataBar")),
    ZintEntry("databar-stacked-omni", "DBAR_OMNSTK", "GS1 DataBar Stacked Omnidirectional", GS1, "13 digits", 14,
              "0950110153000", ("DataBarStkOmni", "DataBar")),
    ZintEntry("databar-expanded-stacked", "DBAR_EXPSTK", "GS1 DataBar Expanded Stacked", GS1, "GS1 AIs", 74,
              "(01)09501101530003(3103)000123", ("DataBarExpStk", "DataBarExpanded")),
    # Stacked and 2D.
    ZintEntry("code16k", "CODE16K", "Code 16K", STACKED, "ASCII", 77, "HELLO-123"),
    ZintEntry("code49", "CODE49", "Code 49", STACKED, "ASCII", 81, "HELLO-123"),
    ZintEntry("codablockf", "CODABLOCKF", "Codablock-F", STACKED, "ASCII", 2725, "HELLO"),
    ZintEntry("pdf417", "PDF417", "PDF417", STACKED, "bytes/text", 2528, "HELLO PDF417", ("PDF417",)),
    ZintEntry("pdf417-compact", "PDF417COMP", "Compact PDF417", STACKED, "bytes/text", 2528, "HELLO PDF417",
              ("CompactPDF417", "PDF417")),
    ZintEntry("micropdf417", "MICROPDF417", "MicroPDF417", STACKED, "bytes/text", 366, "HELLO", ("MicroPDF417",)),
    ZintEntry("qrcode", "QRCODE", "QR Code", TWO_D, "text (UTF-8)", 7089, "HELLO QR", ("QRCode", "QRCodeModel2")),
    ZintEntry("microqr", "MICROQR", "Micro QR Code", TWO_D, "text", 35, "12345", ("MicroQRCode",)),
    ZintEntry("rmqr", "RMQR", "Rectangular Micro QR (rMQR)", TWO_D, "text", 361, "HELLO", ("RMQRCode",)),
    ZintEntry("upnqr", "UPNQR", "UPNQR (Slovenian payment QR)", TWO_D, "Latin-2 text", 411, "HELLO UPN", ("QRCode",)),
    ZintEntry("datamatrix", "DATAMATRIX", "Data Matrix ECC 200", TWO_D, "text/bytes", 3116, "HELLO DM", ("DataMatrix",)),
    ZintEntry("aztec", "AZTEC", "Aztec Code", TWO_D, "text/bytes", 3823, "HELLO AZTEC", ("Aztec", "AztecCode")),
    ZintEntry("aztec-rune", "AZRUNE", "Aztec Runes", TWO_D, "number 0-255", 3, "123", ("AztecRune", "Aztec")),
    ZintEntry("maxicode", "MAXICODE", "MaxiCode", TWO_D, "text (mode 4 by default)", 138, "HELLO MAXICODE", ("MaxiCode",)),
    ZintEntry("dotcode", "DOTCODE", "DotCode", TWO_D, "text/bytes", 200, "HELLO DOTCODE"),
    ZintEntry("hanxin", "HANXIN", "Han Xin Code", TWO_D, "text (GB 18030)", 7827, "HELLO HANXIN"),
    ZintEntry("gridmatrix", "GRIDMATRIX", "Grid Matrix", TWO_D, "text (GB 2312)", 2751, "HELLO"),
    ZintEntry("codeone", "CODEONE", "Code One", TWO_D, "text/bytes", 3550, "HELLO"),
    ZintEntry("ultracode", "ULTRA", "Ultracode", TWO_D, "text/bytes", 252, "HELLO"),
    ZintEntry("mailmark-2d", "MAILMARK_2D", "Royal Mail Mailmark 2D (Data Matrix)", POSTAL, "Mailmark 2D record", 90,
              "JGB 012100123412345678AB19XY1A 0             www.xyz.com", ("DataMatrix",)),
    # Postal (4-state and height-modulated): no zxing-cpp reader.
    ZintEntry("usps-imb", "USPS_IMAIL", "USPS Intelligent Mail (IMb)", POSTAL, "20-digit tracking, optional -routing", 32,
              "01234567094987654321-01234567891"),
    ZintEntry("postnet", "POSTNET", "USPS POSTNET", POSTAL, "5, 9 or 11 digits", 11, "12345"),
    ZintEntry("planet", "PLANET", "USPS PLANET", POSTAL, "11 or 13 digits", 13, "12345678901"),
    ZintEntry("rm4scc", "RM4SCC", "Royal Mail 4-State (RM4SCC)", POSTAL, "A-Z 0-9", 50, "SN34RD1A"),
    ZintEntry("mailmark-4s", "MAILMARK_4S", "Royal Mail Mailmark 4-state", POSTAL, "22 or 26 characters", 26,
              "21B2254800659JW5O9QA6Y"),
    ZintEntry("kix", "KIX", "Dutch Post KIX", POSTAL, "A-Z 0-9", 18, "2500GG30250"),
    ZintEntry("auspost", "AUSPOST", "Australia Post Standard Customer", POSTAL, "8-digit DPID (+ customer info)", 23, "12345678"),
    ZintEntry("ausreply", "AUSREPLY", "Australia Post Reply Paid", POSTAL, "8 digits", 8, "12345678"),
    ZintEntry("ausroute", "AUSROUTE", "Australia Post Routing", POSTAL, "8 digits", 8, "12345678"),
    ZintEntry("ausredirect", "AUSREDIRECT", "Australia Post Redirection", POSTAL, "8 digits", 8, "12345678"),
    ZintEntry("japanpost", "JAPANPOST", "Japan Post", POSTAL, "digits, A-Z and -", 20, "15400233-16-4-205"),
    ZintEntry("koreapost", "KOREAPOST", "Korea Post", POSTAL, "6 digits", 6, "123456"),
    ZintEntry("cepnet", "CEPNET", "Brazilian CEPNet", POSTAL, "8 digits", 8, "12345678"),
    ZintEntry("daft", "DAFT", "DAFT (generic 4-state)", POSTAL, "letters D A F T", 250, "DAFTFDATTDA"),
    ZintEntry("fim", "FIM", "USPS Facing Identification Mark", POSTAL, "one of A-E", 1, "A"),
    # Pharma and health.
    ZintEntry("pzn8", "PZN", "PZN8 (Pharmazentralnummer)", PHARMA, "7 digits (+ check)", 8, "1234567", ("PZN", "Code39")),
    ZintEntry("code32", "CODE32", "Code 32 (Italian Pharmacode)", PHARMA, "8 digits", 8, "14352312", ("Code32", "Code39")),
    ZintEntry("pharmacode", "PHARMA", "Pharmacode (one-track)", PHARMA, "number 3-131070", 6, "1234"),
    ZintEntry("pharmacode-2track", "PHARMA_TWO", "Pharmacode Two-Track", PHARMA, "number 4-64570080", 8, "1234"),
    ZintEntry("hibc-128", "HIBC_128", "HIBC Code 128", HIBC, "HIBC LIC/PAS data", 110, "A123BJC5D6E71", ("Code128",)),
    ZintEntry("hibc-39", "HIBC_39", "HIBC Code 39", HIBC, "HIBC LIC/PAS data", 68, "A123BJC5D6E71", ("Code39Std",)),
    ZintEntry("hibc-datamatrix", "HIBC_DM", "HIBC Data Matrix", HIBC, "HIBC data", 110, "A123BJC5D6E71", ("DataMatrix",)),
    ZintEntry("hibc-qr", "HIBC_QR", "HIBC QR Code", HIBC, "HIBC data", 110, "A123BJC5D6E71", ("QRCode",)),
    ZintEntry("hibc-pdf417", "HIBC_PDF", "HIBC PDF417", HIBC, "HIBC data", 110, "A123BJC5D6E71", ("PDF417",)),
    ZintEntry("hibc-micropdf417", "HIBC_MICPDF", "HIBC MicroPDF417", HIBC, "HIBC data", 110, "A123BJC5D6E71",
              ("MicroPDF417",)),
    ZintEntry("hibc-codablockf", "HIBC_BLOCKF", "HIBC Codablock-F", HIBC, "HIBC data", 110, "A123BJC5D6E71"),
    ZintEntry("hibc-aztec", "HIBC_AZTEC", "HIBC Aztec Code", HIBC, "HIBC data", 110, "A123BJC5D6E71", ("Aztec",)),
)
