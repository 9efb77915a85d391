"""The local cluster's decisions that can be checked without starting it: how the Kubernetes
build module is made, which flags carry the pitfalls of ../shared/notes/kubernetes-local.md,
and that the network plan keeps every packet on this machine."""
from __future__ import annotations

import ipaddress
import json

import yaml

from devstack.k8s import addons, build, components, host, layout, network

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


def test_containerd_keeps_oom_scores_it_cannot_set_and_uses_our_cni_and_pause_image() -> None:
    config = components.containerd_config("local/pause:3.10")
    assert "restrict_oom_score_adj = true" in config
    assert 'sandbox_image = "local/pause:3.10"' in config
    assert f'conf_dir = "{layout.CNI_CONF}"' in config and 'bin_dir = "/usr/lib/cni"' in config
    assert str(layout.CONTAINERD_SOCKET) in config


def test_kubelet_config_fits_this_host() -> None:
    config = yaml.safe_load(components.kubelet_config("/process_api/abc/barcode-k8s"))
    assert config["cgroupDriver"] == "cgroupfs" and config["failCgroupV1"] is False
    assert config["cgroupRoot"] == "/process_api/abc/barcode-k8s"
    assert config["address"] == "127.0.0.1" and config["readOnlyPort"] == 0
    assert config["clusterDNS"] == [layout.DNS_SERVICE_IP]
    assert config["imageGCHighThresholdPercent"] == 100  # imported images must never be collected
    assert config["authentication"]["anonymous"]["enabled"] is False


def test_the_api_server_listens_on_the_bridge_and_reaches_the_node_by_name() -> None:
    argv = components.apiserver().argv
    assert f"--bind-address={layout.BRIDGE_IP}" in argv
    assert "--kubelet-preferred-address-types=Hostname,InternalIP" in argv
    assert "--authorization-mode=Node,RBAC" in argv
    assert f"--service-cluster-ip-range={layout.SERVICE_RANGE}" in argv


def test_control_plane_binds_to_loopback_only() -> None:
    for component in (components.controller_manager(), components.scheduler()):
        assert "--bind-address=127.0.0.1" in component.argv
    etcd = " ".join(components.etcd().argv)
    assert "0.0.0.0" not in etcd and f"http://127.0.0.1:{layout.ETCD_PORT}" in etcd
    proxy = yaml.safe_load(components.kube_proxy_config())
    assert proxy["bindAddress"] == "127.0.0.1" and proxy["healthzBindAddress"].startswith("127.0.0.1:")
    assert proxy["conntrack"]["maxPerCore"] == 0  # the host's sysctls are not ours to change


def test_pods_have_no_way_out_of_the_bridge() -> None:
    conflist = json.loads(components.cni_conflist())
    bridge = conflist["plugins"][0]
    assert bridge["bridge"] == layout.BRIDGE and bridge["ipMasq"] is False
    assert ("-i", layout.BRIDGE, "!", "-o", layout.BRIDGE, "-j", "DROP") in network.FORWARD_RULES


def test_blackholes_cover_the_service_range_and_every_pod_address_outside_the_bridge() -> None:
    holes = [ipaddress.ip_network(c) for c in network.BLACKHOLES]
    assert ipaddress.ip_network(layout.SERVICE_RANGE) in holes
    pods = ipaddress.ip_network(layout.POD_SUBNET)
    assert any(pods.subnet_of(h) for h in holes)  # the bridge's own /24 is more specific: it wins
    assert ipaddress.ip_address(layout.DNS_SERVICE_IP) in ipaddress.ip_network(layout.SERVICE_RANGE)
    assert ipaddress.ip_address(layout.API_SERVICE_IP) in ipaddress.ip_network(layout.SERVICE_RANGE)


def test_the_barcode_namespace_enforces_restricted_pod_security() -> None:
    [namespace] = addons.namespace()
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_coredns_runs_restricted_and_never_forwards_outside_the_cluster() -> None:
    objects = addons.coredns("local/coredns:v1.15.0")
    assert "forward" not in addons.COREFILE
    [deployment] = [o for o in objects if o["kind"] == "Deployment"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["imagePullPolicy"] == "Never"
    assert container["securityContext"]["runAsNonRoot"] is True
    [service] = [o for o in objects if o["kind"] == "Service"]
    assert service["spec"]["clusterIP"] == layout.DNS_SERVICE_IP


def test_node_local_volumes_are_bound_to_this_node_and_retained() -> None:
    objects = addons.storage()
    [storage_class] = [o for o in objects if o["kind"] == "StorageClass"]
    assert storage_class["volumeBindingMode"] == "WaitForFirstConsumer"
    volumes = [o for o in objects if o["kind"] == "PersistentVolume"]
    assert len(volumes) == addons.PERSISTENT_VOLUMES >= 2  # Kafka and MinIO
    for volume in volumes:
        assert volume["spec"]["storageClassName"] == layout.STORAGE_CLASS
        assert volume["spec"]["local"]["path"].startswith(str(layout.VOLUMES))


def test_an_unchanged_config_file_is_not_written_again(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """kube-proxy exits when its config file is written to, even with the same content."""
    path = tmp_path / "kube-proxy.yaml"
    assert components.write_if_changed(path, "a: 1\n") is True
    before = path.stat().st_mtime_ns
    assert components.write_if_changed(path, "a: 1\n") is False
    assert path.stat().st_mtime_ns == before
    assert components.write_if_changed(path, "a: 2\n") is True
