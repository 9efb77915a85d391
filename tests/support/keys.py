"""API keys of the test stack (their SHA-256 hashes are what the gateway is given)."""
from services.gateway.edge.auth import key_hash

KEY_A = "test-key-company-a"
KEY_B = "test-key-company-b"
GATEWAY_API_KEYS = f"{key_hash(KEY_A)}=CompanyA,{key_hash(KEY_B)}=CompanyB"
