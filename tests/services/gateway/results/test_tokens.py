import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.gateway.results.tokens import new_client_id, resume_token, token_valid

OWNER = "anonymous:0123456789abcdef01234567"


def test_tokens_verify_only_for_their_client_and_secret() -> None:
    client = new_client_id()
    token = resume_token(b"secret", client, OWNER)
    assert token_valid(b"secret", client, OWNER, token)
    assert not token_valid(b"secret", new_client_id(), OWNER, token)
    assert not token_valid(b"other", client, OWNER, token)
    assert not token_valid(b"secret", client, OWNER, token[:-1] + ("A" if token[-1] != "A" else "B"))


def test_a_token_works_only_for_the_caller_it_was_issued_to() -> None:
    """Issue 14 item 14: key A resumed with B's client id and token and received B's results."""
    client = new_client_id()
    token = resume_token(b"secret", client, "company:CompanyB")
    assert token_valid(b"secret", client, "company:CompanyB", token)
    assert not token_valid(b"secret", client, "company:CompanyA", token)
    assert not token_valid(b"secret", client, OWNER, token)


def test_tokens_expire() -> None:
    client = new_client_id()
    token = resume_token(b"secret", client, OWNER, ttl_s=60, now=1000.0)
    assert token_valid(b"secret", client, OWNER, token, now=1059.0)
    assert not token_valid(b"secret", client, OWNER, token, now=1061.0)
    assert not token_valid(b"secret", client, OWNER, "not-a-token")


@given(client_id=st.text() | st.integers() | st.none(), token=st.text() | st.lists(st.text()) | st.none())
@settings(max_examples=2000, deadline=None)
def test_any_pair_of_values_is_refused_without_an_exception(client_id: object, token: object) -> None:
    """Malformed resume tokens (non-ASCII digits, a 5000-digit expiry, non-ASCII MAC text) used to
    raise inside the check and drop the socket (1006) instead of answering invalid_resume_token;
    a resume message can carry any JSON value."""
    assert token_valid(b"secret", client_id, OWNER, token) is False


@pytest.mark.parametrize("token", ["١٢٣.abc", "²." + "A" * 43, "9" * 5000 + "." + "A" * 43, "1.é" + "A" * 42,
                                   "99999999999." + "\u00ff" * 43, ""])
def test_the_tokens_an_attacker_sent_are_refused(token: str) -> None:
    assert token_valid(b"secret", new_client_id(), OWNER, token) is False


@given(junk=st.text(min_size=1))
@settings(max_examples=300, deadline=None)
def test_a_valid_token_with_anything_appended_is_refused(junk: str) -> None:
    client = new_client_id()
    assert token_valid(b"secret", client, OWNER, resume_token(b"secret", client, OWNER) + junk) is False
