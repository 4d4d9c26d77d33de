// Kubernetes: `runbook drill install --k8s` (also `runbook k8s drills`) and `runbook k8s
// serve` (contract sections 7 and 10). What goes into the manifests is decided here — the
// image, the store's Secret, the files of the ConfigMap — and cli/k8s_manifests.h builds
// them. Usage errors are exit 2 before anything is written:
//   - no --image (there is no public image to default to);
//   - no store, or a SQLite one: a pod's file system ends with the pod, and the drill
//     history (or the runs of serve) with it; PostgreSQL is required, given as --store /
//     RUNBOOK_STORE (written to a 0600 Secret manifest, hence --dir) or as --store-secret
//     NAME[:KEY] naming a Secret that already holds the URL (nothing secret is written);
//   - a runbook that does not validate, a file outside the current directory (the pods
//     mirror that directory), a file that is not UTF-8 text, more than 1 MiB of files.
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "base/text.h"
#include "cli/commands.h"
#include "cli/fleet_check.h"
#include "cli/k8s_manifests.h"
#include "drill/drills.h"
#include "expr/template.h"
#include "sys/files.h"
#include "yaml/node.h"

namespace rb::cli {

namespace {

namespace fs = std::filesystem;

void note(const std::string& msg) { fmt::print(stderr, "runbook: note: {}\n", mask_url_passwords(msg)); }

bool check_image(const std::string& image, const std::string& cmd) {
  if (image.empty()) {
    error(fmt::format("{} needs --image IMAGE: the container image the pods run, with runbook on its PATH (README, "
                      "\"Kubernetes\", builds one from the .deb); there is no default, as no public image exists",
                      cmd));
    return false;
  }
  bool bad = image.front() == '-' || std::any_of(image.begin(), image.end(), [](unsigned char c) {
               return c <= ' ' || c == 0x7F;
             });
  if (bad) error(fmt::format("--image '{}' is not an image reference (a space, a control character or a leading '-')",
                             terminal_safe(image)));
  return !bad;
}

// The Secret the pods read the store URL from (see the top of this file).
std::optional<k8s::StoreSecret> store_secret(const Global& g, const std::string& flag, const std::string& cmd) {
  k8s::StoreSecret s;
  if (!flag.empty()) {
    size_t colon = flag.find(':');
    s.name = flag.substr(0, colon);
    if (colon != std::string::npos) s.key = flag.substr(colon + 1);
    if (!k8s::is_dns_subdomain(s.name)) {
      error(fmt::format("--store-secret: '{}' is not a Secret name (lowercase letters, digits, '-' and '.')",
                        terminal_safe(s.name)));
      return std::nullopt;
    }
    if (!k8s::is_config_key(s.key)) {
      error(fmt::format("--store-secret: '{}' is not a key of a Secret (letters, digits, '-', '_' and '.')",
                        terminal_safe(s.key)));
      return std::nullopt;
    }
    if (!g.store.empty())
      note(fmt::format("--store is not written anywhere: the pods read the store from Secret {} (key {})", s.name,
                       s.key));
    return s;
  }
  const char* env = std::getenv("RUNBOOK_STORE");
  std::string url = !g.store.empty() ? g.store : (env ? env : "");
  std::string from = !g.store.empty() ? "--store" : "RUNBOOK_STORE";
  const std::string fix =
      "give --store postgres://… (written to a Secret manifest of mode 0600) or --store-secret NAME[:KEY] naming a "
      "Secret that holds the URL";
  if (url.empty()) {
    error(fmt::format("{} needs a PostgreSQL store: without one each pod would keep its runs in a SQLite file that "
                      "is lost when the pod ends (and the drill history with it); {}",
                      cmd, fix));
    return std::nullopt;
  }
  if (!url.starts_with("postgres://") && !url.starts_with("postgresql://")) {
    if (auto why = journal::store_url_problem(url)) error(fmt::format("{}: {}", from, *why));
    else
      error(fmt::format("the store {} ({}) is SQLite: a pod's file system is thrown away when the pod ends, and the "
                        "drill history with it; Kubernetes needs PostgreSQL: {}",
                        from == "--store" ? "given by --store" : "in RUNBOOK_STORE", url, fix));
    return std::nullopt;
  }
  if (url.find_first_of(std::string("\n\r\0", 3)) != std::string::npos) {
    error(fmt::format("{}: the store URL holds a line break", from));
    return std::nullopt;
  }
  s.url = url;
  return s;
}

bool needs_dir(const k8s::StoreSecret& s, const std::string& dir, const std::string& cmd) {
  if (s.url.empty() || !dir.empty()) return true;
  error(fmt::format("{} writes the store URL ({}) to a Secret manifest of mode 0600, never to the terminal: give "
                    "--dir DIR (or --store-secret NAME for a Secret that exists)",
                    cmd, mask_url_passwords(s.url)));
  return false;
}

bool fits(const k8s::Bundle& b) {
  if (b.bytes() <= k8s::kMaxConfigMapBytes) return true;
  error(fmt::format("the files for the ConfigMap ({} of them) come to {} bytes; a ConfigMap holds at most {} bytes",
                    b.files().size(), b.bytes(), k8s::kMaxConfigMapBytes));
  return false;
}

std::optional<std::string> literal(const yaml::Node* n) {
  if (!n || !n->is_scalar() || n->scalar.empty()) return std::nullopt;
  return n->scalar;
}

// The files a runbook's fleet steps read (targets.inventory, targets.ssh.config and
// known_hosts) go into the ConfigMap when written out under the current directory; the
// others are named in a note. An identity file is a private key: never in a ConfigMap.
void add_fleet_files(const model::Runbook& rb, k8s::Bundle& bundle) {
  std::set<std::string> said;
  auto say = [&](const yaml::Node& n, const std::string& msg) {
    std::string line = fmt::format("{}:{}:{}: {}", rb.file, n.pos.line, n.pos.col, msg);
    if (said.insert(line).second) note(line);
  };
  each_fleet_action(rb, [&](const model::Action& a) {
    const yaml::Node& t = *a.targets;
    const yaml::Node* ssh = t.get("ssh");
    std::vector<std::pair<std::string, const yaml::Node*>> files = {{"inventory", t.get("inventory")}};
    if (ssh && ssh->is_map()) {
      files.push_back({"ssh.config", ssh->get("config")});
      files.push_back({"ssh.known_hosts", ssh->get("known_hosts")});
      if (const yaml::Node* id = ssh->get("identity"); literal(id))
        say(*id, fmt::format("targets.ssh.identity '{}' is a private key: it is not put in the ConfigMap; mount it "
                             "into the pods from a Secret at that path",
                             id->scalar));
    }
    for (auto& [what, n] : files) {
      auto path = literal(n);
      if (!path) continue;
      if (expr::has_interpolation(*path)) {
        say(*n, fmt::format("targets.{} is chosen at run time: the file it names must be in the image", what));
        continue;
      }
      std::string why;
      if (path->starts_with("~/") || path->starts_with("/") || !bundle.add(*path, &why))
        say(*n, fmt::format("targets.{} '{}' is not put in the ConfigMap ({}): it must exist in the pods", what, *path,
                            why.empty() ? "not under the current directory" : why));
    }
  });
}

// A hung drill must not block its later runs forever (concurrencyPolicy: Forbid): three
// times the RTO, at least an hour; six hours for a runbook without an RTO.
long long drill_deadline_s(const model::Runbook& rb) {
  if (!rb.objectives.rto) return 6 * 3600;
  return std::max<long long>(3600, 3 * (rb.objectives.rto->count() / 1000));
}

// Prints (no --dir) or writes the files; names files of earlier installs that this one
// no longer writes (a drill since removed): `kubectl apply -f DIR` would bring them back.
int emit(const Global& g, const std::string& dir, const std::vector<k8s::Manifest>& files, bool drills) {
  if (dir.empty()) {
    for (size_t i = 0; i < files.size(); ++i) fmt::print("{}{}", i ? "---\n" : "", files[i].content);
    return kOk;
  }
  fs::path d = fs::absolute(dir);
  std::error_code ec;
  fs::create_directories(d, ec);
  std::set<std::string> written;
  for (auto& m : files) {
    auto path = (d / m.file).string();
    if (Status st = sys::write_file(path, m.content, m.secret ? 0600 : 0644, sys::Existing::Replace); !st.ok()) {
      error(st.message());
      return kEngine;
    }
    written.insert(m.file);
    if (!g.json) fmt::print("wrote {}{}\n", (d / m.file).string(), m.secret ? " (mode 0600: it holds a secret)" : "");
  }
  for (auto& e : fs::directory_iterator(d, ec)) {
    std::string name = e.path().filename().string();
    if (name.starts_with("runbook-drill-") && name.ends_with(".yaml") && !written.count(name) && drills)
      note(fmt::format("{} is from an earlier install (no such drill now): delete it, and its CronJob "
                       "(kubectl delete cronjob -l app.kubernetes.io/component=drill … or by name)",
                       e.path().string()));
  }
  if (!g.json) fmt::print("apply with: kubectl apply -f {}\n", d.string());
  return kOk;
}

std::string position(const std::string& file, const SourcePos& p) { return fmt::format("{}:{}:{}", file, p.line, p.col); }

}  // namespace

int k8s_drills(const Global& g, const DrillFlags& f, const std::vector<drill::Drill>& drills, plugin::Registry& reg) {
  const std::string cmd = "drill install --k8s";
  if (!check_image(f.image, cmd)) return kInvalid;
  auto store = store_secret(g, f.store_secret, cmd);
  if (!store || !needs_dir(*store, f.dir, cmd)) return kInvalid;
  k8s::Bundle bundle;
  std::string why;
  if (!bundle.add(f.file, &why)) {
    error(fmt::format("--drills: {}", why));
    return kInvalid;
  }
  std::string drills_path = bundle.files().front().path;
  std::vector<k8s::DrillJob> jobs;
  std::set<std::string> seen;
  std::vector<std::string> secret_inputs;  // drills giving a secret input its value
  for (auto& d : drills) {
    auto rel = k8s::Bundle::relative(d.runbook, &why);
    if (!rel || !bundle.add(d.runbook, &why)) {
      fmt::print(stderr, "{}: drill '{}': {}\n", position(f.file, d.pos), d.name, why);
      return kInvalid;
    }
    auto rb = load_or_report(d.runbook, reg, true);
    if (!rb) {
      fmt::print(stderr, "{}: drill '{}': its runbook {} does not validate (errors above)\n", position(f.file, d.pos),
                 d.name, d.runbook);
      return kInvalid;
    }
    if (seen.insert(*rel).second) add_fleet_files(*rb, bundle);
    jobs.push_back({d.name, *rel, d.schedule.text, d.timezone, drill_deadline_s(*rb)});
    for (auto& in : d.inputs)
      for (auto& decl : rb->inputs)
        if (decl.secret && in.substr(0, in.find('=')) == decl.name)
          secret_inputs.push_back(fmt::format("drill '{}' input '{}'", d.name, decl.name));
  }
  if (!fits(bundle)) return kInvalid;
  // A ConfigMap is readable by anyone who may read the namespace's configuration: a drills
  // file that gives a secret input its value goes into a Secret instead, never to the terminal.
  if (!secret_inputs.empty() && f.dir.empty()) {
    error(fmt::format("{}: {} {} a secret input a value; the drills file then goes into a Secret manifest of mode "
                      "0600, never to the terminal: give --dir DIR",
                      cmd, join(secret_inputs, ", "), secret_inputs.size() == 1 ? "gives" : "give"));
    return kInvalid;
  }
  std::vector<k8s::Manifest> files;
  if (auto s = k8s::secret_manifest(*store, "runbook drill install --k8s")) files.push_back(*s);
  for (auto& m : k8s::drill_manifests(f.image, *store, bundle, drills_path, jobs, !secret_inputs.empty()))
    files.push_back(std::move(m));
  return emit(g, f.dir, files, true);
}

namespace {

// The runbooks of --runbooks DIR (its *.yaml / *.yml files holding `runbook:`; other YAML
// there, such as an inventory, goes along unvalidated). False after printing why.
bool add_runbooks(const std::string& dir, plugin::Registry& reg, k8s::Bundle& bundle) {
  std::error_code ec;
  std::vector<fs::path> paths;
  for (auto& e : fs::directory_iterator(dir, ec)) {
    auto ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml")) paths.push_back(e.path());
  }
  if (ec) {
    error(fmt::format("--runbooks '{}': {}", dir, ec.message()));
    return false;
  }
  std::sort(paths.begin(), paths.end());
  bool ok = true;
  int runbooks = 0;
  std::string why;
  for (auto& p : paths) {
    Diagnostics d(p.string());
    yaml::Node root;
    if (!yaml::load_file(p.string(), root, d)) {
      for (auto& x : d.list()) fmt::print(stderr, "{}\n", x.format());
      ok = false;
      continue;
    }
    if (root.is_map() && root.get("runbook")) {
      auto rb = load_or_report(p.string(), reg, true);
      if (!rb) {
        ok = false;
        continue;
      }
      ++runbooks;
      add_fleet_files(*rb, bundle);
    }
    if (!bundle.add(p.string(), &why)) {
      error(why);
      ok = false;
    }
  }
  if (ok && runbooks == 0) {
    error(fmt::format("--runbooks '{}' holds no runbook (*.yaml or *.yml with `runbook:`)", dir));
    return false;
  }
  return ok;
}

}  // namespace

int cmd_k8s_serve(const Global& g, const K8sServeFlags& f) {
  const std::string cmd = "k8s serve";
  if (f.port < 1 || f.port > 65535 || f.replicas < 1 || f.replicas > 100) {
    error(f.port < 1 || f.port > 65535 ? fmt::format("--port {} is not a port (1 to 65535)", f.port)
                                       : fmt::format("--replicas {} is not from 1 to 100", f.replicas));
    return kInvalid;
  }
  if (!check_image(f.image, cmd)) return kInvalid;
  auto store = store_secret(g, f.store_secret, cmd);
  if (!store || !needs_dir(*store, f.dir, cmd)) return kInvalid;
  std::string why;
  auto runbooks = k8s::Bundle::relative(f.runbooks, &why);
  if (!runbooks) {
    error(fmt::format("--runbooks: {}", why));
    return kInvalid;
  }
  if (!fs::is_directory(f.runbooks)) {
    error(fmt::format("--runbooks '{}' is not a directory", f.runbooks));
    return kInvalid;
  }
  auto reg = make_registry(g);
  k8s::Bundle bundle;
  k8s::ServeSpec spec;
  spec.image = f.image;
  spec.port = f.port;
  spec.replicas = f.replicas;
  spec.runbooks = *runbooks;
  if (!f.triggers.empty()) {
    Diagnostics d(f.triggers);
    yaml::Node root;
    if (!yaml::load_file(f.triggers, root, d)) {
      for (auto& x : d.list()) fmt::print(stderr, "{}\n", x.format());
      return kInvalid;
    }
    if (!bundle.add(f.triggers, &why)) {
      error(fmt::format("--triggers: {}", why));
      return kInvalid;
    }
    spec.triggers = bundle.files().back().path;
  }
  if (!add_runbooks(f.runbooks, *reg, bundle) || !fits(bundle)) return kInvalid;
  std::vector<k8s::Manifest> files;
  if (auto s = k8s::secret_manifest(*store, "runbook k8s serve")) files.push_back(*s);
  for (auto& m : k8s::serve_manifests(spec, *store, bundle)) files.push_back(std::move(m));
  return emit(g, f.dir, files, false);
}

}  // namespace rb::cli
