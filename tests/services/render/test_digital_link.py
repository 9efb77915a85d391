"""GS1 Digital Link URIs: the path order the standard fixes, the query, percent-encoding, every
refusal by name, and the reverse; each link also read by an independent parser (biip)."""
from __future__ import annotations

import itertools

import pytest
from biip.gs1_digital_link_uris import GS1DigitalLinkURI

from services.render.digital_link import DigitalLinkError, element_string, pairs_of, parse, uri

GTIN = "09506000134352"


def _biip(link: str) -> list[tuple[str, str]]:
    return [(es.ai.ai, es.value) for es in GS1DigitalLinkURI.parse(link).element_strings]


@pytest.mark.parametrize("qualifiers", [c for n in range(4) for c in itertools.combinations(
    [("22", "2A"), ("10", "ABC123"), ("21", "12345")], n)])
def test_gtin_with_every_combination_of_qualifiers_in_the_standards_order(qualifiers: tuple[tuple[str, str], ...]) -> None:
    # Given in reverse, written 22 -> 10 -> 21.
    pairs = [("17", "271231"), *reversed(qualifiers), ("01", GTIN)]
    link = uri(pairs, "https://id.example.com")
    assert link == "https://id.example.com/01/" + GTIN + "".join(f"/{ai}/{v}" for ai, v in qualifiers) + "?17=271231"
    assert sorted(_biip(link)) == sorted(pairs)
    assert sorted(parse(link)) == sorted(pairs)


def test_sscc_and_gln_keys_and_attributes_in_ascending_ai_order() -> None:
    sscc = uri([("00", "106141412345678908"), ("37", "25"), ("02", "00614141123452"), ("10", "AB/1")])
    assert sscc == "https://id.gs1.org/00/106141412345678908?02=00614141123452&10=AB%2F1&37=25"
    gln = uri([("254", "32a%b"), ("414", "9521321000001")], "https://r.example.org/prefix/")
    assert gln == "https://r.example.org/prefix/414/9521321000001/254/32a%25b"
    for link in (sscc, gln):
        assert sorted(_biip(link)) == sorted(parse(link))


def test_values_are_percent_encoded_except_unreserved_characters() -> None:
    link = uri([("01", GTIN), ("10", "A/B?C&D%F+-._")])  # GS1's character set 82 has all of these
    assert link.endswith("/10/A%2FB%3FC%26D%25F%2B-._")
    assert dict(parse(link))["10"] == "A/B?C&D%F+-._" == dict(_biip(link))["10"]


def test_a_short_gtin_is_fourteen_digits_in_the_path() -> None:
    assert uri([("01", "96385074")]).endswith("/01/00000096385074")


@pytest.mark.parametrize("pairs,subject", [
    ([("10", "ABC"), ("17", "271231")], "AI (10)"),  # a qualifier without its key
    ([("17", "271231")], "data"),  # no key at all
    ([("01", GTIN), ("00", "106141412345678908")], "AI (00)"),  # two keys
    ([("01", GTIN), ("10", "A"), ("10", "B")], "AI (10)"),  # twice
])
def test_what_makes_no_digital_link_is_refused_naming_the_ai(pairs: list[tuple[str, str]], subject: str) -> None:
    with pytest.raises(DigitalLinkError) as refused:
        uri(pairs)
    assert refused.value.subject == subject


@pytest.mark.parametrize("base", ["http://id.example.com", "id.example.com", "https://", "https://x.com/?a=1",
                                  "https://x.com/#f", "https://x .com"])
def test_a_base_that_is_not_an_https_resolver_is_refused_naming_the_option(base: str) -> None:
    with pytest.raises(DigitalLinkError) as refused:
        uri([("01", GTIN)], base)
    assert refused.value.subject == "digital_link"


def test_the_reverse_reads_short_names_and_refuses_a_qualifier_out_of_order() -> None:
    assert parse("https://id.gs1.org/gtin/09506000134352/lot/ABC1/ser/12?exp=271231&utm=x") == \
        [("01", GTIN), ("10", "ABC1"), ("21", "12"), ("17", "271231")]
    with pytest.raises(DigitalLinkError) as refused:
        parse(f"https://id.gs1.org/01/{GTIN}/21/12/10/ABC")
    assert refused.value.subject == "AI (10)"
    assert element_string(pairs_of("(01)09506000134352(10)AB")) == "(01)09506000134352(10)AB"
