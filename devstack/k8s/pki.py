"""Certificates, tokens and kubeconfigs of the local cluster, made once with openssl.

One self-made CA signs the API server's serving certificate, the API server's client
certificate for kubelets, and the kubelet's serving certificate. Clients authenticate with
static tokens (`tokens.csv`): simple, and enough for a single-machine cluster nobody else reaches.
"""
from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

from devstack.k8s import layout

API_SANS = ("DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
            "DNS:kubernetes.default.svc.cluster.local", "DNS:localhost",
            f"IP:{layout.BRIDGE_IP}", f"IP:{layout.API_SERVICE_IP}", "IP:127.0.0.1")

# user -> (groups): the kubelet must be system:node:<name> in system:nodes for the Node authorizer.
USERS = {
    "admin": "system:masters",
    f"system:node:{layout.NODE_NAME}": "system:nodes",
}


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _signed(name: str, subject: str, sans: tuple[str, ...] = (), client: bool = False) -> None:
    key, csr, crt = (layout.PKI / f"{name}.{ext}" for ext in ("key", "csr", "crt"))
    ext = layout.PKI / f"{name}.ext"
    usage = "clientAuth" if client else "serverAuth"
    ext.write_text(f"extendedKeyUsage={usage}\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                   + (f"subjectAltName={','.join(sans)}\n" if sans else ""))
    _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-subj", subject, "-out", str(csr))
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(layout.PKI / "ca.crt"), "-CAkey", str(layout.PKI / "ca.key"),
             "-CAcreateserial", "-days", "3650", "-extfile", str(ext), "-out", str(crt))


def token(user: str) -> str:
    for line in (layout.PKI / "tokens.csv").read_text().splitlines():
        value, name, *_ = line.split(",")
        if name == user:
            return value
    raise KeyError(user)


def kubeconfig_text(server: str, user: str, user_token: str, ca_file: Path) -> str:
    return f"""apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {{server: "{server}", certificate-authority: "{ca_file}"}}
users:
- name: {user}
  user: {{token: "{user_token}"}}
contexts:
- name: local
  context: {{cluster: local, user: {user}, namespace: {layout.NAMESPACE}}}
current-context: local
"""


def ensure() -> None:
    """Make whatever is missing; a complete set is reused (certificates last ten years)."""
    done = layout.PKI / ".complete"
    if done.exists():
        return
    layout.PKI.mkdir(parents=True, exist_ok=True)
    ca_key, ca_crt = layout.PKI / "ca.key", layout.PKI / "ca.crt"
    _openssl("req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-days", "3650",
             "-subj", "/CN=barcode-pipeline-local-ca", "-out", str(ca_crt))
    _signed("apiserver", "/CN=kube-apiserver", API_SANS)
    _signed("apiserver-kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client", client=True)
    _signed("kubelet", f"/CN={layout.NODE_NAME}", ("DNS:localhost", "IP:127.0.0.1"))
    _openssl("genrsa", "-out", str(layout.PKI / "sa.key"), "2048")
    _openssl("rsa", "-in", str(layout.PKI / "sa.key"), "-pubout", "-out", str(layout.PKI / "sa.pub"))
    (layout.PKI / "tokens.csv").write_text("".join(
        f'{secrets.token_hex(16)},{user},{user},"{groups}"\n' for user, groups in USERS.items()))
    layout.KUBECONFIG.write_text(kubeconfig_text(layout.API_URL, "admin", token("admin"), ca_crt))
    layout.KUBECONFIG.chmod(0o600)
    kubelet = layout.PKI / "kubelet.kubeconfig"
    node_user = f"system:node:{layout.NODE_NAME}"
    kubelet.write_text(kubeconfig_text(layout.API_URL, node_user, token(node_user), ca_crt))
    done.write_text("ok")
