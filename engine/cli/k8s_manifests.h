// Kubernetes manifests that deploy as they are (contract sections 7 and 10): the drill
// CronJobs of `runbook drill install --k8s` and the Deployment + Service of `runbook k8s
// serve`. This file only builds text from values; cmd_k8s.cpp decides what goes in
// (flags, the store, which files) and writes it.
//
// The shape every pod shares, chosen here and in README ("Kubernetes"):
//   - files (the drills file, runbooks, the fleet files they name, triggers) live in one
//     ConfigMap mounted read-only at kMount, each at its path relative to the directory
//     the generator ran in; the pod's working directory is kMount, so every relative
//     path the files hold resolves in the pod as it did there;
//   - the store URL comes from a Secret (env RUNBOOK_STORE, secretKeyRef), never from a
//     command line or a generated file other than that Secret's own manifest;
//   - non-root (uid/gid 65532, runAsNonRoot, no privilege escalation, no capabilities,
//     RuntimeDefault seccomp, read-only root file system), HOME and TMPDIR on a writable
//     emptyDir at /tmp, resource requests and limits;
//   - drills: one CronJob each, concurrencyPolicy Forbid, backoffLimit 0 (a failed drill is
//     a result to record, not a crash to retry), activeDeadlineSeconds from the RTO so a
//     hung drill cannot block its later runs forever;
//   - serve: `runbook serve --listen 0.0.0.0:PORT`, probes on GET /healthz (the one route
//     without a token), a ClusterIP Service, the ConfigMap's hash on the pod template so
//     that a change of runbooks rolls the pods.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace rb::cli::k8s {

/// Where the ConfigMap is mounted in every pod (the same folder the .deb's units use).
inline constexpr const char* kMount = "/etc/runbook";
/// The uid and gid the pods run as (no image's root).
inline constexpr int kRunAs = 65532;
/// Longest CronJob name: the Job controller appends 11 characters to it.
inline constexpr size_t kMaxCronJobName = 52;

/// The store URL's Secret.
struct StoreSecret {
  std::string name = "runbook-store";
  std::string key = "RUNBOOK_STORE";
  std::string url;  ///< non-empty: write a Secret manifest holding it; empty: the Secret exists
};

/// One file for the ConfigMap: its path under kMount and its key in the ConfigMap.
struct BundleFile {
  std::string path;     ///< relative, normalized, '/'-separated
  std::string key;      ///< a valid ConfigMap key ([-._a-zA-Z0-9]+, at most 253)
  std::string content;  ///< UTF-8 text
};

/// The files a ConfigMap carries. Paths are taken relative to the current directory.
class Bundle {
 public:
  /// Adds the regular file at `path` (relative, or absolute inside the current directory);
  /// adding the same file twice keeps one. False with *why when it lies outside the
  /// current directory, cannot be read, or is not UTF-8 text.
  bool add(const std::string& path, std::string* why);
  /// The path of `path` relative to the current directory ("." for the directory itself),
  /// or nullopt with *why when it lies outside it or cannot be mounted.
  static std::optional<std::string> relative(const std::string& path, std::string* why);
  const std::vector<BundleFile>& files() const { return files_; }
  /// Bytes of keys and contents (what the 1 MiB ConfigMap limit counts).
  size_t bytes() const;
  /// sha256 over paths and contents, hex: changes whenever a file does.
  std::string digest() const;

 private:
  std::vector<BundleFile> files_;
};

/// A ConfigMap holds at most this many bytes of data.
inline constexpr size_t kMaxConfigMapBytes = 1024 * 1024;

/// One generated file.
struct Manifest {
  std::string file;     ///< file name in --dir
  std::string content;  ///< a comment header and one YAML document
  bool secret = false;  ///< holds a secret (the store URL, secret inputs): mode 0600, never printed
};

/// `prefix + name` as an object name of at most `max` characters (a DNS label): cut and
/// suffixed with a hash of `name` when too long or when it would end with '-'.
std::string object_name(const std::string& prefix, const std::string& name, size_t max);

/// True when `s` is a DNS subdomain (Secret names) / a ConfigMap or Secret key.
bool is_dns_subdomain(const std::string& s);
bool is_config_key(const std::string& s);

/// The Secret manifest (only when `s.url` is set).
std::optional<Manifest> secret_manifest(const StoreSecret& s, const std::string& made_by);

struct DrillJob {
  std::string name;        ///< the drill
  std::string runbook;     ///< its runbook's path in the bundle
  std::string schedule;    ///< 5-field cron
  std::string timezone;    ///< IANA zone
  long long deadline_s = 0;  ///< activeDeadlineSeconds of each Job
};

/// The drills ConfigMap and one CronJob per drill. `drills_path` is the drills file's
/// path in the bundle. `as_secret`: the drills file gives a secret input a value, so the
/// bundle goes into a Secret (runbook-drills-secret.yaml, mode 0600) mounted the same way.
std::vector<Manifest> drill_manifests(const std::string& image, const StoreSecret& store, const Bundle& bundle,
                                      const std::string& drills_path, const std::vector<DrillJob>& jobs,
                                      bool as_secret = false);

struct ServeSpec {
  std::string image;
  int port = 8088;
  int replicas = 1;
  std::string runbooks;  ///< the runbooks folder's path in the bundle ("." for the top)
  std::string triggers;  ///< the triggers file's path in the bundle; empty: none
};

/// The serve ConfigMap, Deployment and Service.
std::vector<Manifest> serve_manifests(const ServeSpec& spec, const StoreSecret& store, const Bundle& bundle);

}  // namespace rb::cli::k8s
