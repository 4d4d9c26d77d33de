#include "cli/common.h"
#include "sys/env.h"

#include <fmt/format.h>
#include <random>
#include <pwd.h>
#include <unistd.h>

#include "builtin.h"
#include "runbook_build.h"
#include "base/text.h"
#include "base/time.h"
#include "yaml/check.h"
#include "parse/runbook_parser.h"
#include "yaml/node.h"

namespace rb::cli {

const char* version() { return RUNBOOK_VERSION; }
const char* build_commit() { return RUNBOOK_COMMIT; }

std::set<std::string> secret_inputs(const model::Runbook& rb, const Value& inputs, Masker& masker) {
  std::set<std::string> names;
  for (auto& in : rb.inputs) {
    if (!in.secret) continue;
    names.insert(in.name);
    if (inputs.contains(in.name) && !inputs[in.name].is_null()) masker.add(to_text(inputs[in.name]));
  }
  return names;
}

std::unique_ptr<plugin::Registry> make_registry(const Global& g) {
  auto reg = std::make_unique<plugin::Registry>();
  plugins::register_builtins(*reg, plugins::default_plugin_path(g.plugin_path));
  return reg;
}

std::optional<model::Runbook> load_or_report(const std::string& path, plugin::Registry& reg, bool quiet_warnings) {
  Diagnostics d(path);
  auto rb = parse::load_runbook(path, reg, d);
  for (auto& x : d.list()) {
    if (x.severity == Severity::Warning && quiet_warnings) continue;
    fmt::print(stderr, "{}\n", x.format());
  }
  return rb;
}

std::unique_ptr<journal::Store> open_store_or_report(const Global& g) {
  Status st = Status::OK();
  auto s = journal::open_store(g.store, &st);
  if (!s) {
    error(mask_url_passwords(st.message()));
    return nullptr;
  }
  // A damaged store is an engine error that names the damage (exit 4), never an empty
  // answer such as "no runs".
  if (Status ok = s->check_integrity(); !ok.ok()) {
    error(mask_url_passwords(ok.message()));
    return nullptr;
  }
  return s;
}

std::string store_flag(const Global& g) {
  return g.store.empty() ? "" : " --store " + shell_quote(mask_url_passwords(g.store));
}

std::string operator_name(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* u = std::getenv("USER"); u && *u) return u;
  // The account name of the process's user (getlogin needs a terminal; this does not).
  std::vector<char> buf(16384);
  passwd pw{}, *found = nullptr;
  if (::getpwuid_r(::geteuid(), &pw, buf.data(), buf.size(), &found) == 0 && found && found->pw_name && *found->pw_name)
    return found->pw_name;
  return fmt::format("uid{}", ::geteuid());
}

std::string new_run_id() {
  std::random_device rd;
  auto now = sys::wall_now();
  std::string ts = rfc3339_ms(now);  // 2026-11-23T18:44:53.123Z
  std::string compact;
  for (char c : ts.substr(0, 19))
    if (std::isdigit(static_cast<unsigned char>(c))) compact += c;
  return fmt::format("R{}-{}-{:06x}", compact.substr(0, 8), compact.substr(8), rd() & 0xffffff);
}

void error(const Masker& m, const std::string& msg) { fmt::print(stderr, "runbook: {}\n", m.mask(msg)); }
void error(const std::string& msg) { fmt::print(stderr, "runbook: {}\n", mask_url_passwords(msg)); }

namespace {

// Converts a text value to the input's type; nullopt with *why.
std::optional<Value> typed(const model::Input& in, const yaml::Node& n, std::string* why) {
  std::string text = n.scalar;
  switch (in.type) {
    case model::InputType::String: return Value(text);
    case model::InputType::Int: {
      long long v;
      yaml::Node plain = n;
      plain.quoted = false;
      if (yaml::plain_is_int(plain, &v)) return Value(v);
      *why = fmt::format("input '{}' must be a whole number, not '{}'", in.name, ellipsize(text, 40));
      return std::nullopt;
    }
    case model::InputType::Number: {
      double v;
      long long iv;
      yaml::Node plain = n;
      plain.quoted = false;
      if (yaml::plain_is_int(plain, &iv)) return Value(iv);
      if (yaml::plain_is_number(plain, &v)) return Value(v);
      *why = fmt::format("input '{}' must be a number, not '{}'", in.name, ellipsize(text, 40));
      return std::nullopt;
    }
    case model::InputType::Bool: {
      bool b;
      yaml::Node plain = n;
      plain.quoted = false;
      if (yaml::plain_is_bool(plain, &b)) return Value(b);
      *why = fmt::format("input '{}' must be true or false, not '{}'", in.name, ellipsize(text, 40));
      return std::nullopt;
    }
    case model::InputType::Duration: {
      std::string w;
      if (parse_duration(text, &w)) return Value(text);
      *why = fmt::format("input '{}': {}", in.name, w);
      return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<Value> resolve_inputs(const model::Runbook& rb, const std::string& inputs_file,
                                    const std::vector<std::string>& pairs, bool check_required) {
  Value out = Value::object();
  bool bad = false;
  std::vector<std::string> names;
  for (auto& in : rb.inputs) {
    names.push_back(in.name);
    out[in.name] = in.default_value.value_or(Value(nullptr));
  }
  std::set<std::string> given;
  if (!inputs_file.empty()) {
    Diagnostics d(inputs_file);
    yaml::Node root;
    if (yaml::load_file(inputs_file, root, d)) {
      if (!root.is_map()) {
        d.error(root.pos, "an inputs file is a map of input name to value");
      } else {
        for (auto& [k, v] : root.entries) {
          const model::Input* in = rb.input(k.scalar);
          if (!in) {
            d.error(k.pos, fmt::format("unknown input '{}'{}", k.scalar, did_you_mean_suffix(k.scalar, names)));
            continue;
          }
          if (!v.is_scalar() && !v.is_null()) {
            d.error(v.pos, fmt::format("input '{}' must be a single value", k.scalar));
            continue;
          }
          if (v.scalar.find('\0') != std::string::npos) {
            d.error(yaml::text_pos(v), fmt::format("input '{}' holds a NUL byte (a value is text without NUL)", k.scalar));
            continue;
          }
          std::string why;
          auto val = v.is_null() ? std::optional<Value>(Value(nullptr)) : typed(*in, v, &why);
          if (!val) d.error(yaml::text_pos(v), why);
          else {
            out[k.scalar] = *val;
            given.insert(k.scalar);
          }
        }
      }
    }
    for (auto& x : d.list()) fmt::print(stderr, "{}\n", x.format());
    bad = bad || d.has_errors();
  }
  for (auto& p : pairs) {
    size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      fmt::print(stderr, "runbook: --input '{}': expected NAME=VALUE\n", p);
      bad = true;
      continue;
    }
    std::string k = p.substr(0, eq), v = p.substr(eq + 1);
    const model::Input* in = rb.input(k);
    if (!in) {
      fmt::print(stderr, "runbook: --input {}: unknown input '{}'{}\n", k, k, did_you_mean_suffix(k, names));
      bad = true;
      continue;
    }
    if (v.find('\0') != std::string::npos) {
      fmt::print(stderr, "runbook: --input {}: the value holds a NUL byte (a value is text without NUL)\n", k);
      bad = true;
      continue;
    }
    yaml::Node n;
    n.kind = yaml::Node::Kind::Scalar;
    n.scalar = v;
    std::string why;
    auto val = typed(*in, n, &why);
    if (!val) {
      fmt::print(stderr, "runbook: --input {}: {}\n", k, in->secret ? fmt::format("input '{}' has a bad value", k) : why);
      bad = true;
      continue;
    }
    out[k] = *val;
    given.insert(k);
  }
  for (auto& in : rb.inputs) {
    if (!given.count(in.name) && out[in.name].is_string() &&
        out[in.name].get_ref<const std::string&>().find('\0') != std::string::npos) {
      fmt::print(stderr, "{}:{}:{}: the default of input '{}' holds a NUL byte\n", rb.file, in.pos.line, in.pos.col,
                 in.name);
      bad = true;
    }
    if (check_required && in.required && !given.count(in.name) && out[in.name].is_null()) {
      fmt::print(stderr, "{}:{}:{}: input '{}' is required: give it with --input {}=VALUE or --inputs FILE\n", rb.file,
                 in.pos.line, in.pos.col, in.name, in.name);
      bad = true;
    }
  }
  if (bad) return std::nullopt;
  return out;
}

}  // namespace rb::cli
