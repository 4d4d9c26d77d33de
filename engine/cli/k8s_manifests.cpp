#include "cli/k8s_manifests.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/hash.h"
#include "base/text.h"
#include "base/value.h"
#include "base/yaml_emit.h"

namespace rb::cli::k8s {

namespace fs = std::filesystem;

namespace {

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

std::string key_for(const std::string& path, const std::vector<BundleFile>& taken) {
  std::string key;
  for (char c : path) {
    bool ok = lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '-' || c == '.' || c == '_';
    key += ok ? c : '_';
  }
  if (key.starts_with("..")) key = "_" + key;
  if (key.size() > 253) key = key.substr(0, 244) + "-" + sha256_hex(path).substr(0, 8);
  auto used = [&](const std::string& k) {
    for (auto& f : taken)
      if (f.key == k) return true;
    return false;
  };
  std::string base = key;
  for (int n = 2; used(key); ++n) key = fmt::format("{}.{}", base.substr(0, 245), n);
  return key;
}

Value labels(const std::string& component) {
  Value l = Value::object();
  l["app.kubernetes.io/name"] = "runbook";
  l["app.kubernetes.io/component"] = component;
  l["app.kubernetes.io/managed-by"] = "runbook";
  return l;
}

Value metadata(const std::string& name, const std::string& component) {
  Value m = Value::object();
  m["name"] = name;
  m["labels"] = labels(component);
  return m;
}

Value env_var(const std::string& name, const std::string& value) {
  Value e = Value::object();
  e["name"] = name;
  e["value"] = value;
  return e;
}

Value store_env(const StoreSecret& s) {
  Value ref = Value::object();
  ref["name"] = s.name;
  ref["key"] = s.key;
  Value e = Value::object();
  e["name"] = "RUNBOOK_STORE";
  e["valueFrom"]["secretKeyRef"] = ref;
  return e;
}

// The container every pod runs: `command` in kMount, the store from the Secret.
Value container(const std::string& name, const std::string& image, const std::vector<std::string>& command,
                const StoreSecret& store) {
  Value c = Value::object();
  c["name"] = name;
  c["image"] = image;
  c["command"] = command;
  c["workingDir"] = kMount;
  c["env"] = Value::array({store_env(store), env_var("HOME", "/tmp"), env_var("TMPDIR", "/tmp")});
  Value res = Value::object();
  res["requests"]["cpu"] = "100m";
  res["requests"]["memory"] = "128Mi";
  res["limits"]["cpu"] = "1";
  res["limits"]["memory"] = "512Mi";
  c["resources"] = res;
  Value sc = Value::object();
  sc["allowPrivilegeEscalation"] = false;
  sc["readOnlyRootFilesystem"] = true;
  sc["capabilities"]["drop"] = Value::array({"ALL"});
  c["securityContext"] = sc;
  Value config = Value::object(), tmp = Value::object();
  config["name"] = "config";
  config["mountPath"] = kMount;
  config["readOnly"] = true;
  tmp["name"] = "tmp";
  tmp["mountPath"] = "/tmp";
  c["volumeMounts"] = Value::array({config, tmp});
  return c;
}

// The pod around `c`: non-root, the ConfigMap's (or Secret's) files at their paths, /tmp writable.
Value pod_spec(Value c, const std::string& config_map, const Bundle& bundle, bool from_secret = false) {
  Value spec = Value::object();
  Value psc = Value::object();
  psc["runAsNonRoot"] = true;
  psc["runAsUser"] = kRunAs;
  psc["runAsGroup"] = kRunAs;
  psc["seccompProfile"]["type"] = "RuntimeDefault";
  spec["securityContext"] = psc;
  spec["containers"] = Value::array({std::move(c)});
  Value items = Value::array();
  for (auto& f : bundle.files()) {
    Value it = Value::object();
    it["key"] = f.key;
    it["path"] = f.path;
    items.push_back(it);
  }
  Value config = Value::object(), tmp = Value::object();
  config["name"] = "config";
  const char* source = from_secret ? "secret" : "configMap";
  config[source][from_secret ? "secretName" : "name"] = config_map;
  config[source]["defaultMode"] = 0444;  // written in decimal (292): YAML 1.1 and 1.2 read 0444 differently
  config[source]["items"] = items;
  tmp["name"] = "tmp";
  tmp["emptyDir"]["sizeLimit"] = "256Mi";
  spec["volumes"] = Value::array({config, tmp});
  return spec;
}

// The bundle's files as a ConfigMap, or — `secret`: a drills file that gives a secret input
// its value — as a Secret (stringData), written 0600 and never printed.
Manifest bundle_manifest(const std::string& file, const std::string& name, const std::string& component,
                         const Bundle& bundle, const std::string& header, bool secret) {
  Value m = Value::object();
  m["apiVersion"] = "v1";
  m["kind"] = secret ? "Secret" : "ConfigMap";
  m["metadata"] = metadata(name, component);
  if (secret) m["type"] = "Opaque";
  Value data = Value::object();
  for (auto& f : bundle.files()) data[f.key] = f.content;
  m[secret ? "stringData" : "data"] = data;
  return {file, header + to_yaml(m), secret};
}

std::string in_mount(const std::string& path) { return path == "." ? kMount : std::string(kMount) + "/" + path; }

}  // namespace

// ---- names and files ------------------------------------------------------------------

std::string object_name(const std::string& prefix, const std::string& name, size_t max) {
  std::string s = prefix + name;
  if (s.size() <= max && !s.empty() && lower_alnum(s.back())) return s;
  std::string cut = s.substr(0, std::min(s.size(), max - 9));
  while (!cut.empty() && !lower_alnum(cut.back())) cut.pop_back();
  return cut + "-" + sha256_hex(name).substr(0, 8);
}

bool is_dns_subdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  for (size_t at = 0; at <= s.size();) {
    size_t dot = s.find('.', at);
    if (dot == std::string::npos) dot = s.size();
    std::string_view label(s.data() + at, dot - at);
    if (label.empty() || !lower_alnum(label.front()) || !lower_alnum(label.back())) return false;
    for (char c : label)
      if (!lower_alnum(c) && c != '-') return false;
    at = dot + 1;
  }
  return true;
}

bool is_config_key(const std::string& s) {
  if (s.empty() || s.size() > 253 || s == "." || s.starts_with("..")) return false;
  for (char c : s)
    if (!(lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '-' || c == '.' || c == '_')) return false;
  return true;
}

std::optional<std::string> Bundle::relative(const std::string& path, std::string* why) {
  fs::path cwd = fs::current_path();
  fs::path rel = fs::absolute(path).lexically_normal().lexically_relative(cwd);
  std::string r = rel.generic_string();
  if (r.ends_with("/")) r.pop_back();
  if (r.empty() || r == ".." || r.starts_with("../")) {
    *why = fmt::format("'{}' is outside the current directory ({}): the pods mirror that directory from a ConfigMap, "
                       "so run this from a directory that holds it",
                       path, cwd.string());
    return std::nullopt;
  }
  for (auto& part : fs::path(r))
    if (part.string().starts_with("..")) {
      *why = fmt::format("'{}': a path element starting with '..' cannot be mounted from a ConfigMap", path);
      return std::nullopt;
    }
  return r;
}

bool Bundle::add(const std::string& path, std::string* why) {
  auto rel = relative(path, why);
  if (!rel) return false;
  for (auto& f : files_)
    if (f.path == *rel) return true;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    *why = fmt::format("'{}' is not a regular file that can be read", path);
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) {
    *why = fmt::format("cannot read '{}'", path);
    return false;
  }
  std::string content = text.str();
  std::string bad;
  if (find_bad_utf8(content, &bad) || content.find('\0') != std::string::npos) {
    *why = fmt::format("'{}' is not UTF-8 text ({}): a ConfigMap's data holds text", path, bad.empty() ? "NUL" : bad);
    return false;
  }
  files_.push_back({*rel, key_for(*rel, files_), std::move(content)});
  return true;
}

size_t Bundle::bytes() const {
  size_t n = 0;
  for (auto& f : files_) n += f.key.size() + f.content.size();
  return n;
}

std::string Bundle::digest() const {
  std::string all;
  for (auto& f : files_) all += fmt::format("{}\n{}\n{}\n", f.path, f.content.size(), f.content);
  return sha256_hex(all);
}

// ---- the manifests --------------------------------------------------------------------

std::optional<Manifest> secret_manifest(const StoreSecret& s, const std::string& made_by) {
  if (s.url.empty()) return std::nullopt;
  Value sec = Value::object();
  sec["apiVersion"] = "v1";
  sec["kind"] = "Secret";
  sec["metadata"] = metadata(s.name, "store");
  sec["type"] = "Opaque";
  sec["stringData"][s.key] = s.url;
  std::string header = fmt::format(
      "# The run store's URL for the runbook pods ({}). It holds the password: this file is mode\n"
      "# 0600; apply it (kubectl apply -f) and keep it out of version control.\n",
      made_by);
  return Manifest{"runbook-store-secret.yaml", header + to_yaml(sec), true};
}

std::vector<Manifest> drill_manifests(const std::string& image, const StoreSecret& store, const Bundle& bundle,
                                      const std::string& drills_path, const std::vector<DrillJob>& jobs,
                                      bool as_secret) {
  std::vector<Manifest> out;
  if (as_secret)
    out.push_back(bundle_manifest("runbook-drills-secret.yaml", "runbook-drills", "drill", bundle,
                                  fmt::format("# The drills file and its runbooks, mounted at {} in every drill pod\n"
                                              "# (runbook drill install --k8s). A Secret, not a ConfigMap: the drills\n"
                                              "# file gives a secret input its value. This file is mode 0600; apply it\n"
                                              "# (kubectl apply -f DIR) and keep it out of version control.\n",
                                              kMount),
                                  true));
  else
    out.push_back(bundle_manifest("runbook-drills-configmap.yaml", "runbook-drills", "drill", bundle,
                                  fmt::format("# The drills file and its runbooks, mounted at {} in every drill pod\n"
                                              "# (runbook drill install --k8s). Apply with: kubectl apply -f DIR\n",
                                              kMount),
                                  false));
  for (auto& j : jobs) {
    Value job = Value::object();
    job["apiVersion"] = "batch/v1";
    job["kind"] = "CronJob";
    job["metadata"] = metadata(object_name("runbook-drill-", j.name, kMaxCronJobName), "drill");
    job["metadata"]["annotations"]["runbook.dev/drill"] = j.name;
    job["metadata"]["annotations"]["runbook.dev/runbook"] = j.runbook;
    Value spec = Value::object();
    spec["schedule"] = j.schedule;
    spec["timeZone"] = j.timezone;
    spec["concurrencyPolicy"] = "Forbid";
    spec["startingDeadlineSeconds"] = 3600;
    spec["successfulJobsHistoryLimit"] = 3;
    spec["failedJobsHistoryLimit"] = 6;
    Value jspec = Value::object();
    jspec["backoffLimit"] = 0;
    jspec["activeDeadlineSeconds"] = j.deadline_s;
    Value pod = pod_spec(container("drill", image, {"runbook", "drill", "run", j.name, "--drills", in_mount(drills_path)},
                                   store),
                         "runbook-drills", bundle, as_secret);
    Value tspec = Value::object();
    tspec["restartPolicy"] = "Never";
    tspec["terminationGracePeriodSeconds"] = 120;  // SIGTERM interrupts the run; teardown still runs
    tspec.update(pod);
    jspec["template"]["metadata"]["labels"] = labels("drill");
    jspec["template"]["spec"] = tspec;
    spec["jobTemplate"]["metadata"]["labels"] = labels("drill");
    spec["jobTemplate"]["spec"] = jspec;
    job["spec"] = spec;
    std::string header = fmt::format(
        "# runbook drill {} ({}): `runbook drill run {}` on \"{}\" ({}), recorded in the store\n"
        "# of Secret {} (runbook drill install --k8s). Apply with: kubectl apply -f DIR\n",
        j.name, j.runbook, j.name, j.schedule, j.timezone, store.name);
    out.push_back({"runbook-drill-" + j.name + ".yaml", header + to_yaml(job)});
  }
  return out;
}

namespace {

// serve's container: the contract's command line, the named port, probes on /healthz.
Value serve_container(const ServeSpec& spec, const StoreSecret& store) {
  std::vector<std::string> cmd = {"runbook", "serve", "--listen", fmt::format("0.0.0.0:{}", spec.port), "--runbooks",
                                  in_mount(spec.runbooks)};
  if (!spec.triggers.empty()) {
    cmd.push_back("--triggers");
    cmd.push_back(in_mount(spec.triggers));
  }
  Value c = container("serve", spec.image, cmd, store);
  Value port = Value::object();
  port["name"] = "http";
  port["containerPort"] = spec.port;
  port["protocol"] = "TCP";
  c["ports"] = Value::array({port});
  Value ready = Value::object(), live = Value::object();
  ready["httpGet"]["path"] = "/healthz";
  ready["httpGet"]["port"] = "http";
  ready["periodSeconds"] = 5;
  ready["timeoutSeconds"] = 2;
  ready["failureThreshold"] = 3;
  live["httpGet"] = ready["httpGet"];
  live["initialDelaySeconds"] = 10;
  live["periodSeconds"] = 10;
  live["timeoutSeconds"] = 3;
  live["failureThreshold"] = 6;
  c["readinessProbe"] = ready;
  c["livenessProbe"] = live;
  return c;
}

}  // namespace

std::vector<Manifest> serve_manifests(const ServeSpec& spec, const StoreSecret& store, const Bundle& bundle) {
  std::vector<Manifest> out;
  out.push_back(bundle_manifest("runbook-serve-configmap.yaml", "runbook-serve", "serve", bundle,
                                fmt::format("# The runbooks (and triggers) of runbook serve, mounted at {}\n"
                                            "# (runbook k8s serve). Apply with: kubectl apply -f DIR\n",
                                            kMount),
                                false));
  Value c = serve_container(spec, store);

  Value dep = Value::object();
  dep["apiVersion"] = "apps/v1";
  dep["kind"] = "Deployment";
  dep["metadata"] = metadata("runbook-serve", "serve");
  Value selector = Value::object();
  selector["app.kubernetes.io/name"] = "runbook";
  selector["app.kubernetes.io/component"] = "serve";
  dep["spec"]["replicas"] = spec.replicas;
  dep["spec"]["selector"]["matchLabels"] = selector;
  dep["spec"]["template"]["metadata"]["labels"] = labels("serve");
  dep["spec"]["template"]["metadata"]["annotations"]["runbook.dev/config-sha256"] = bundle.digest();
  Value pod = Value::object();
  pod["terminationGracePeriodSeconds"] = 60;  // SIGTERM interrupts running runs; another serve resumes them
  pod.update(pod_spec(c, "runbook-serve", bundle));
  dep["spec"]["template"]["spec"] = pod;
  out.push_back({"runbook-serve-deployment.yaml",
                 fmt::format("# runbook serve: the incident room and alert intake on port {} (runbook k8s serve),\n"
                             "# the store from Secret {}. Apply with: kubectl apply -f DIR\n",
                             spec.port, store.name) +
                     to_yaml(dep)});

  Value svc = Value::object();
  svc["apiVersion"] = "v1";
  svc["kind"] = "Service";
  svc["metadata"] = metadata("runbook-serve", "serve");
  svc["spec"]["type"] = "ClusterIP";
  svc["spec"]["selector"] = selector;
  Value sport = Value::object();
  sport["name"] = "http";
  sport["port"] = spec.port;
  sport["targetPort"] = "http";
  sport["protocol"] = "TCP";
  svc["spec"]["ports"] = Value::array({sport});
  out.push_back({"runbook-serve-service.yaml",
                 fmt::format("# runbook serve inside the cluster: http://runbook-serve:{} (Alertmanager posts to\n"
                             "# /hooks/alertmanager). Apply with: kubectl apply -f DIR\n",
                             spec.port) +
                     to_yaml(svc)});
  return out;
}

}  // namespace rb::cli::k8s
