"""Helpers for the Kubernetes manifest tests: read what `drill install --k8s` / `k8s serve`
wrote, check what the API server checks beyond the OpenAPI schema (names, references
between objects), and lay a ConfigMap's files out as the kubelet mounts them."""
import os
import re
import stat

import yaml

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def read_dir(path):
    """{file name: [documents]} of every .yaml file in `path`."""
    out = {}
    for name in sorted(os.listdir(path)):
        if name.endswith(".yaml"):
            with open(os.path.join(path, name)) as f:
                out[name] = [d for d in yaml.safe_load_all(f) if d is not None]
    return out


def read_text(text):
    return [d for d in yaml.safe_load_all(text) if d is not None]


def pod_spec(doc):
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    if doc["kind"] == "Deployment":
        return doc["spec"]["template"]["spec"]
    return None


def api_server_problems(docs):
    """What the API server would refuse that the OpenAPI schema does not say, and the
    references between the documents of one set (ConfigMap keys, Secret, ports, selectors)."""
    problems = []
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    config_maps = {c["metadata"]["name"]: c for c in by_kind.get("ConfigMap", [])}
    secrets = {s["metadata"]["name"]: s for s in by_kind.get("Secret", [])}
    for d in docs:
        name = d["metadata"]["name"]
        where = f"{d['kind']} {name}"
        limit = {"CronJob": 52, "Service": 63}.get(d["kind"], 253)
        rule = DNS_LABEL if d["kind"] in ("CronJob", "Service", "Deployment") else DNS_SUBDOMAIN
        if len(name) > limit or not rule.match(name):
            problems.append(f"{where}: name is not a valid {d['kind']} name")
        for k, v in d["metadata"].get("labels", {}).items():
            if len(v) > 63 or not LABEL_VALUE.match(v):
                problems.append(f"{where}: label {k}={v!r} is not a label value")
        for k in d.get("data", {}) or {}:
            if len(k) > 253 or not CONFIG_KEY.match(k) or k.startswith(".."):
                problems.append(f"{where}: {k!r} is not a ConfigMap key")
        spec = pod_spec(d)
        if spec is None:
            continue
        volumes = {v["name"]: v for v in spec["volumes"]}
        for c in spec["containers"]:
            if not DNS_LABEL.match(c["name"]):
                problems.append(f"{where}: container name {c['name']!r}")
            for m in c.get("volumeMounts", []):
                if m["name"] not in volumes:
                    problems.append(f"{where}: mount of unknown volume {m['name']}")
            ports = {p["name"] for p in c.get("ports", [])}
            for probe in ("readinessProbe", "livenessProbe"):
                if probe in c and c[probe]["httpGet"]["port"] not in ports:
                    problems.append(f"{where}: {probe} names port {c[probe]['httpGet']['port']} the container lacks")
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref["name"] in secrets and ref["key"] not in secrets[ref["name"]].get("stringData", {}):
                    problems.append(f"{where}: Secret {ref['name']} has no key {ref['key']}")
        for v in volumes.values():
            cm = v.get("configMap") or v.get("secret")
            if not cm:
                continue
            kind, name = ("ConfigMap", cm["name"]) if "configMap" in v else ("Secret", cm["secretName"])
            source = config_maps.get(name) if kind == "ConfigMap" else secrets.get(name)
            if source is None:
                problems.append(f"{where}: {kind} {name} is not in the set")
                continue
            keys = source.get("data") or source.get("stringData") or {}
            for it in cm.get("items", []):
                if it["key"] not in keys:
                    problems.append(f"{where}: item key {it['key']} is not in {kind} {name}")
                if it["path"].startswith("/") or any(p.startswith("..") for p in it["path"].split("/")):
                    problems.append(f"{where}: item path {it['path']!r}")
        if d["kind"] == "Deployment":
            sel = d["spec"]["selector"]["matchLabels"]
            labels = d["spec"]["template"]["metadata"]["labels"]
            if any(labels.get(k) != v for k, v in sel.items()):
                problems.append(f"{where}: selector does not match the pod template's labels")
            for svc in by_kind.get("Service", []):
                if any(labels.get(k) != v for k, v in svc["spec"]["selector"].items()):
                    problems.append(f"Service {svc['metadata']['name']}: selector matches no pod of {where}")
                for p in svc["spec"]["ports"]:
                    cport = {q["name"] for c in spec["containers"] for q in c.get("ports", [])}
                    if p["targetPort"] not in cport:
                        problems.append(f"Service {svc['metadata']['name']}: targetPort {p['targetPort']} is no port")
    return problems


def mount(spec, config_maps, root, mount_path):
    """Writes the ConfigMap volume mounted at `mount_path` under `root` as the kubelet would
    (items at their paths, defaultMode); returns the folder standing for `mount_path`."""
    at = None
    for c in spec["containers"]:
        for m in c["volumeMounts"]:
            if m["mountPath"] == mount_path:
                at = m["name"]
    vol = next(v for v in spec["volumes"] if v["name"] == at)["configMap"]
    data = config_maps[vol["name"]]["data"]
    top = os.path.join(root, mount_path.strip("/").replace("/", "_"))
    for it in vol["items"]:
        p = os.path.join(top, it["path"])
        os.makedirs(os.path.dirname(p), exist_ok=True)
        os.chmod(os.path.dirname(p), 0o755)
        with open(p, "w") as f:
            f.write(data[it["key"]])
        os.chmod(p, vol.get("defaultMode", 0o644))
    os.chmod(top, 0o755)
    return top


def file_mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)
