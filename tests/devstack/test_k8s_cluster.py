"""The local cluster's decisions that can be checked without starting it: how the Kubernetes
build module is made, which settings carry the pitfalls of ../shared/notes/minikube-local.md,
that minikube finds every image under the name kubeadm asks for, and that the namespace it runs
in keeps every packet and every file on this machine."""
from __future__ import annotations

import ipaddress

from devstack.k8s import addons, box, build, host, minikube, node_images, pins

KUBERNETES_GO_MOD = """module k8s.io/kubernetes

go 1.26.0

require (
	k8s.io/api v0.0.0
	sigs.k8s.io/yaml v1.4.0
)

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/client-go => ./staging/src/k8s.io/client-go
	k8s.io/cri-api => ./staging/src/k8s.io/cri-api
)
"""


def test_staging_replaces_point_at_the_published_versions_of_the_pinned_release() -> None:
    assert build.staging_replaces(KUBERNETES_GO_MOD, "v1.36.3") == [
        "k8s.io/api => k8s.io/api v0.36.3",
        "k8s.io/client-go => k8s.io/client-go v0.36.3",
        "k8s.io/cri-api => k8s.io/cri-api v0.36.3",
    ]


def test_version_is_stamped_for_both_server_and_client_packages() -> None:
    flags = build.version_ldflags("v1.36.3")
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        assert f"-X {package}.gitVersion=v1.36.3" in flags
        assert f"-X {package}.gitMajor=1" in flags and f"-X {package}.gitMinor=36" in flags


def test_kubelet_cgroups_go_under_our_own_memory_cgroup() -> None:
    proc = "9:name=systemd:/\n4:memory:/process_api/abc\n1:cpu,cpuacct:/\n0::/\n"
    assert host.own_memory_cgroup(proc) == "/process_api/abc"
    assert host.own_memory_cgroup("0::/\n") == "/"


def test_missing_packages_are_named_by_their_debian_package() -> None:
    assert host.missing_packages(lambda path: path != "/usr/sbin/conntrack") == ["conntrack"]
    assert host.missing_packages(lambda path: True) == []


def test_kubeadm_and_its_version_stamps_build_with_the_kubernetes_binaries() -> None:
    assert "k8s.io/kubernetes/cmd/kubeadm" in pins.KUBE.packages
    assert "-X k8s.io/component-base/version.gitTreeState=clean" in build.version_ldflags("v1.36.3")


def test_minikube_is_built_as_its_makefile_builds_it() -> None:
    assert pins.MINIKUBE_BUILD.cgo and pins.MINIKUBE_BUILD.tags == "libvirt_dlopen"
    assert f"k8s.io/minikube/pkg/version.version={pins.MINIKUBE}" in pins.MINIKUBE_BUILD.ldflags
    assert f"k8s.io/minikube/pkg/storage.version={pins.STORAGE_PROVISIONER}" in pins.PROVISIONER_BUILD.ldflags


def test_every_image_kubeadm_asks_for_is_built_under_its_name() -> None:
    # `kubeadm config images list --kubernetes-version v1.36.3`, and minikube's addon.
    wanted = {"registry.k8s.io/kube-apiserver:v1.36.3", "registry.k8s.io/kube-controller-manager:v1.36.3",
              "registry.k8s.io/kube-scheduler:v1.36.3", "registry.k8s.io/kube-proxy:v1.36.3",
              "registry.k8s.io/etcd:3.6.8-0", "registry.k8s.io/coredns/coredns:v1.14.2",
              "registry.k8s.io/pause:3.10.2", "gcr.io/k8s-minikube/storage-provisioner:v5"}
    built = {image.ref for image in node_images.node_images()} | set(node_images.pause_refs())
    assert wanted <= built


def test_kube_proxy_gets_iptables_and_the_rest_run_from_scratch() -> None:
    by_name = {image.ref.rsplit("/", 1)[-1].split(":")[0]: image for image in node_images.node_images()}
    assert "iptables" in by_name["kube-proxy"].packages and "conntrack" in by_name["kube-proxy"].packages
    assert by_name["kube-apiserver"].packages == ()
    assert 'ENTRYPOINT ["/usr/local/bin/etcd"]' in by_name["etcd"].dockerfile()


def test_containerd_keeps_oom_scores_it_cannot_set_whatever_minikube_rewrites() -> None:
    config = minikube.containerd_config()
    assert "restrict_oom_score_adj=true" in config
    # minikube's sed matches `restrict_oom_score_adj = ...` (with spaces) and would set false.
    assert "restrict_oom_score_adj = " not in config


def test_the_hosts_kubeconfig_reaches_the_api_through_the_loopback_bridge(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    inner, outer = tmp_path / "inner", tmp_path / "outer"
    inner.write_text("clusters:\n- cluster:\n    server: https://192.168.49.2:8443\n  name: minikube\n")
    monkeypatch.setattr(minikube, "INNER_KUBECONFIG", inner)
    monkeypatch.setattr(minikube.layout, "KUBECONFIG", outer)
    minikube._host_kubeconfig()
    assert f"server: https://127.0.0.1:{minikube.HOST_API_PORT}" in outer.read_text()
    assert "192.168.49.2" not in outer.read_text()


def test_the_namespace_keeps_minikubes_writes_off_the_hosts_folders() -> None:
    script = box._mounts_script()
    for path in ("/etc", "/usr/libexec", "/usr/local/bin"):
        assert f"lowerdir={path},upperdir=" in script
    for path in ("/var/lib", "/var/log", "/opt", "/run"):
        assert f"mount --bind {box._folder(path)} {path}" in script
    assert f"{box.SYSTEMCTL}" in script and "hostname minikube" in script


def test_no_packet_leaves_the_namespace() -> None:
    script = box._network_script()
    for chain in ("OUTPUT", "FORWARD"):
        assert f"iptables -I {chain} -o {box.NODE_IF} ! -d {box.NODE_IP} -j REJECT" in script
    ends = [ipaddress.ip_network(cidr) for cidr in box.DEAD_ENDS]
    assert ipaddress.ip_address("10.96.0.1") in ends[0] and ipaddress.ip_network("10.244.0.0/16") == ends[1]
    for cidr in box.DEAD_ENDS:
        assert f"ip route add {cidr} dev {box.NODE_IF}" in script
    assert f"nameserver {box.GATEWAY}" in script


def test_the_barcode_namespace_enforces_restricted_pod_security() -> None:
    [namespace] = addons.namespace()
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
