"""GS1 Digital Link URIs from GS1 element strings, and back (GS1 Digital Link Standard: URI
Syntax, release 1.4).

A Digital Link carries the same AIs as an element string, as a web address a phone opens and a
till reads: `https://id.example.com/01/09506000134352/10/ABC123?17=271231`. The rules written
here, and why each is a rule:
- exactly one primary key (GTIN 01, SSCC 00, GLN 414 ...): the resolver looks the link up by it;
- its key qualifiers in the path, in the order the standard fixes for that key (01: 22, 10, 21,
  235): a resolver matches the path, so another order is another link;
- every other AI as a query parameter, in ascending AI order (one canonical link per set of
  AIs); another primary key cannot be one;
- values percent-encoded except RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`): GS1's
  character set 82 includes `/`, `?`, `&`, `#` and `%`, which would end a segment or a value;
- a GTIN is 14 digits in the path (GTIN-8, -12 and -13 padded with zeros), as the standard's
  canonical form writes it;
- the base is an https URL of a resolver, with an optional path prefix, no query or fragment.

The AIs' own formats, dates and check digits are checked by libzint (render/api.py), as for
every GS1 symbol; verification reads the link back with an independent parser (biip).
"""
from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

DEFAULT_RESOLVER = "https://id.gs1.org"

# Primary keys and their qualifiers, in the order the path must give them.
KEYS: dict[str, tuple[str, ...]] = {
    "01": ("22", "10", "21", "235"),  # GTIN: consumer product variant, batch/lot, serial, TPX
    "8006": ("22", "10", "21"),  # ITIP
    "8013": (),  # GMN
    "8010": ("8011",),  # CPID: serial
    "414": ("254", "7040"),  # GLN of a physical location: extension, UIC with extension
    "415": ("8020",),  # GLN of the invoicing party: payment slip reference
    "417": ("7040",),  # party GLN
    "8017": ("8019",),  # GSRN of a provider: service relation instance
    "8018": ("8019",),  # GSRN of a recipient
    "255": (),  # GCN
    "00": (),  # SSCC
    "253": (),  # GDTI
    "401": (),  # GINC
    "402": (),  # GSIN
    "8003": (),  # GRAI
    "8004": ("7040",),  # GIAI
}
# Every qualifier, for "a qualifier without its key".
_QUALIFIERS = {q for qualifiers in KEYS.values() for q in qualifiers}
# The short names the standard allows in place of numeric AIs (read, never written).
SHORT_NAMES: dict[str, str] = {
    "gtin": "01", "itip": "8006", "gmn": "8013", "cpid": "8010", "gln": "414", "payTo": "415",
    "partyGln": "417", "gsrnp": "8017", "gsrn": "8018", "gcn": "255", "sscc": "00", "gdti": "253",
    "ginc": "401", "gsin": "402", "grai": "8003", "giai": "8004", "cpv": "22", "lot": "10", "ser": "21",
    "tpx": "235", "cpsn": "8011", "glnx": "254", "refNo": "8020", "srin": "8019", "uic-ext": "7040",
    "exp": "17", "bestBeforeDate": "15",
}
_BRACKETED = re.compile(r"\((\d{2,4})\)([^()]*)")
_AI = re.compile(r"\d{2,4}")

Pairs = list[tuple[str, str]]


class DigitalLinkError(ValueError):
    """A set of AIs, a base or a URI that makes no Digital Link; `subject` names the AI
    ("AI (21)") or the field ("digital_link")."""

    def __init__(self, subject: str, message: str) -> None:
        super().__init__(f"{subject}: {message}")
        self.subject = subject


def pairs_of(element_string: str) -> Pairs:
    """"(01)09506000134352(10)AB" -> [("01", "09506000134352"), ("10", "AB")]."""
    pairs = [(m.group(1), m.group(2)) for m in _BRACKETED.finditer(element_string)]
    if not pairs or "".join(f"({ai}){value}" for ai, value in pairs) != element_string:
        raise DigitalLinkError("data", "a Digital Link is made from GS1 data: bracketed AIs such as "
                                       "(01)09506000134352(10)ABC123, or {\"gs1\": {AI: value}}")
    return pairs


def element_string(pairs: Pairs) -> str:
    return "".join(f"({ai}){value}" for ai, value in pairs)


def checked_base(base: str) -> str:
    """The resolver's address without a trailing slash, or DigitalLinkError naming the option."""
    parts = urlsplit(base)
    if parts.scheme != "https" or not parts.netloc or parts.query or parts.fragment or re.search(r"\s", base):
        raise DigitalLinkError("digital_link", f"{base!r} is not a resolver's address: an https URL with a host "
                                               f"and an optional path, no query or fragment (e.g. {DEFAULT_RESOLVER})")
    return base.rstrip("/")


def resolver(option: object) -> str:
    """The resolver a `digital_link` option names: its address, or (true, unresolved yet: the
    router puts the company's in) the default."""
    return option if isinstance(option, str) else DEFAULT_RESOLVER


def _split(pairs: Pairs) -> tuple[tuple[str, str], Pairs, Pairs]:
    """(the primary key, its qualifiers in the standard's order, the other AIs by AI)."""
    keys = [pair for pair in pairs if pair[0] in KEYS]
    if not keys:
        qualifier = next((ai for ai, _ in pairs if ai in _QUALIFIERS), None)
        named = f"AI ({qualifier})" if qualifier else "data"
        raise DigitalLinkError(named, "a Digital Link needs one primary key AI (01 GTIN, 00 SSCC, 414 GLN, 8004 "
                                      "GIAI ...)" + (f"; ({qualifier}) qualifies a key, and there is none" if qualifier
                                                     else ""))
    if len(keys) > 1:
        raise DigitalLinkError(f"AI ({keys[1][0]})", f"a Digital Link has one primary key; ({keys[0][0]}) is already "
                                                     f"it")
    key = keys[0]
    seen: set[str] = set()
    for ai, _ in pairs:
        if ai in seen:
            raise DigitalLinkError(f"AI ({ai})", "is given twice")
        seen.add(ai)
    order = KEYS[key[0]]
    qualifiers = sorted((p for p in pairs if p[0] in order), key=lambda p: order.index(p[0]))
    others = sorted((p for p in pairs if p is not key and p[0] not in order), key=lambda p: (len(p[0]), p[0]))
    return key, qualifiers, others


def _path_value(ai: str, value: str) -> str:
    if ai == "01" and value.isdigit() and len(value) in (8, 12, 13):
        value = value.zfill(14)
    return quote(value, safe="")


def uri(pairs: Pairs, base: str = DEFAULT_RESOLVER) -> str:
    """The canonical Digital Link of these AIs at this resolver."""
    key, qualifiers, others = _split(pairs)
    path = "".join(f"/{ai}/{_path_value(ai, value)}" for ai, value in (key, *qualifiers))
    query = "&".join(f"{ai}={quote(value, safe='')}" for ai, value in others)
    return checked_base(base) + path + (f"?{query}" if query else "")


def _ai(name: str) -> str | None:
    return name if _AI.fullmatch(name) else SHORT_NAMES.get(name)


def parse(link: str) -> Pairs:
    """The AIs a Digital Link carries, key and qualifiers first, then its query's AIs (other
    query parameters are not AIs and are left out, as the standard says)."""
    parts = urlsplit(link)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise DigitalLinkError("data", f"{link[:80]!r} is not a Digital Link: an http(s) URL")
    segments = parts.path.split("/")[1:]
    start = next((i for i, s in enumerate(segments) if _ai(s) in KEYS and i + 1 < len(segments)), None)
    if start is None:
        raise DigitalLinkError("data", "the link's path has no primary key (e.g. /01/<GTIN>)")
    path = segments[start:]
    if len(path) % 2:
        raise DigitalLinkError("data", f"the link's path after the key must be AI/value pairs: {parts.path!r}")
    pairs: Pairs = []
    for name, value in zip(path[::2], path[1::2]):
        ai = _ai(name)
        if ai is None:
            raise DigitalLinkError("data", f"{name!r} in the link's path is not an AI")
        pairs.append((ai, unquote(value)))
    key, allowed = pairs[0][0], KEYS[pairs[0][0]]
    last = -1
    for ai, _ in pairs[1:]:
        if ai not in allowed or allowed.index(ai) <= last:
            raise DigitalLinkError(f"AI ({ai})", f"cannot follow in the path of key ({key}): its qualifiers are "
                                                 f"{', '.join(allowed) or 'none'}, in that order")
        last = allowed.index(ai)
    for item in filter(None, parts.query.split("&")):
        name, _, value = item.partition("=")
        ai = _ai(unquote(name))
        if ai is not None:
            pairs.append((ai, unquote(value)))
    _split(pairs)  # one key, no AI twice
    return pairs
