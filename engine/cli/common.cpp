#include "cli/common.h"
#include "sys/env.h"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <filesystem>
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

Status verify_timeline(journal::Store& store, const std::string& run_id) {
  bool tail_only = false;  // the store reads one snapshot: a live run's commit lands whole
  return store.verify_chain(run_id, &tail_only);
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

std::string sqlite_store_path(const Global& g) {
  std::string url = journal::effective_store_url(g.store);
  if (url.find("://") != std::string::npos) return "";
  std::string path = url.starts_with("sqlite:") ? url.substr(7) : url;
  return path == ":memory:" ? "" : path;
}

std::unique_ptr<journal::Store> open_existing_store_or_report(const Global& g, int* code) {
  *code = kEngine;
  std::string path = sqlite_store_path(g);
  std::error_code ec;
  if (!path.empty() && !std::filesystem::exists(path, ec)) {
    error(fmt::format("no store at {}: no run was ever recorded there (a typo in --store or RUNBOOK_STORE? a run is "
                      "in the store it was started with; by default .runbook/runbook.db in the directory it was "
                      "started from)",
                      std::filesystem::absolute(path, ec).lexically_normal().string()));
    *code = kInvalid;
    return nullptr;
  }
  return open_store_or_report(g);
}

std::string store_flag(const Global& g) {
  return g.store.empty() ? "" : " --store " + shell_quote(store_in_use(g));
}

std::string no_run_message(const Global& g, journal::Store& s, const std::string& id) {
  return fmt::format(
      "no run '{}' in {} — `runbook{} runs` lists the runs it holds; a run started elsewhere is in the store it was "
      "started with (give it with --store, or RUNBOOK_STORE; by default .runbook/runbook.db in the directory it was "
      "started from)",
      id, s.describe(), store_flag(g));
}

std::string store_in_use(const Global& g) {
  std::string url = journal::effective_store_url(g.store);
  // A relative SQLite path is made absolute: `resume` and the rest work from anywhere.
  std::string path = sqlite_store_path(g);
  std::error_code ec;
  if (!path.empty() && path[0] != '/')
    url = (url.starts_with("sqlite:") ? "sqlite:" : "") + std::filesystem::absolute(path, ec).lexically_normal().string();
  return mask_url_passwords(url);
}

std::string secrets_again(const model::Runbook& rb, const Value& inputs, const std::string& inputs_file,
                          const std::vector<std::string>& pairs) {
  std::set<std::string> flagged;
  for (auto& p : pairs) flagged.insert(p.substr(0, p.find('=')));
  std::string out;
  bool file = false;
  for (auto& in : rb.inputs) {
    if (!in.secret || !inputs.contains(in.name) || inputs[in.name].is_null()) continue;
    if (in.default_value && inputs[in.name] == *in.default_value) continue;
    if (flagged.count(in.name)) {
      out += fmt::format(" --input {}=…", in.name);
    } else if (!inputs_file.empty() && !file) {
      file = true;
      std::error_code ec;
      out += " --inputs " + shell_quote(std::filesystem::absolute(inputs_file, ec).lexically_normal().string());
    }
  }
  return out;
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
      // What people type at 3 a.m.: yes/no, on/off, y/n, 1/0 (any case).
      std::string low = text;
      std::transform(low.begin(), low.end(), low.begin(), [](unsigned char c) { return std::tolower(c); });
      if (low == "yes" || low == "y" || low == "on" || low == "1") return Value(true);
      if (low == "no" || low == "n" || low == "off" || low == "0") return Value(false);
      *why = fmt::format("input '{}' must be true or false (or yes/no), not '{}'", in.name, ellipsize(text, 40));
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

namespace {

// --inputs FILE: a map of input name to value. A name the runbook does not declare is a
// warning (one file may serve several runbooks); a bad value is an error at its position.
bool read_inputs_file(const model::Runbook& rb, const std::string& path, const std::vector<std::string>& names,
                      Value& out, std::set<std::string>& given) {
  Diagnostics d(path);
  yaml::Node root;
  if (yaml::load_file(path, root, d)) {
    if (!root.is_map()) d.error(root.pos, "an inputs file is a map of input name to value");
    for (auto& [k, v] : root.is_map() ? root.entries : decltype(root.entries){}) {
      const model::Input* in = rb.input(k.scalar);
      if (!in) {
        d.warning(k.pos, fmt::format("'{}' is not an input of {}: ignored{}", k.scalar, rb.id,
                                     did_you_mean_suffix(k.scalar, names)));
        continue;
      }
      std::string why;
      std::optional<Value> val;
      if (!v.is_scalar() && !v.is_null()) why = fmt::format("input '{}' must be a single value", k.scalar);
      else if (v.scalar.find('\0') != std::string::npos)
        why = fmt::format("input '{}' holds a NUL byte (a value is text without NUL)", k.scalar);
      else val = v.is_null() ? std::optional<Value>(Value(nullptr)) : typed(*in, v, &why);
      if (!val) {
        d.error(yaml::text_pos(v), why);
        continue;
      }
      out[k.scalar] = *val;
      given.insert(k.scalar);
    }
  }
  for (auto& x : d.list()) fmt::print(stderr, "{}\n", x.format());
  return !d.has_errors();
}

// After "unknown input 'NAME'": a did-you-mean, else the inputs the runbook declares.
std::string unknown_input_hint(const std::string& name, const std::vector<std::string>& names) {
  std::string mean = did_you_mean_suffix(name, names);
  if (!mean.empty()) return mean;
  if (names.empty()) return " (the runbook declares no inputs)";
  return fmt::format(" (the runbook declares {})", fmt::join(names, ", "));
}

// --input NAME=VALUE, repeatable; later ones win.
bool read_input_flags(const model::Runbook& rb, const std::vector<std::string>& pairs,
                      const std::vector<std::string>& names, Value& out, std::set<std::string>& given) {
  bool ok = true;
  for (auto& p : pairs) {
    size_t eq = p.find('=');
    std::string k = eq == std::string::npos ? p : p.substr(0, eq), v = eq == std::string::npos ? "" : p.substr(eq + 1);
    const model::Input* in = eq == std::string::npos || eq == 0 ? nullptr : rb.input(k);
    std::string why;
    std::optional<Value> val;
    if (eq == std::string::npos || eq == 0) why = fmt::format("--input '{}': expected NAME=VALUE", p);
    else if (!in) why = fmt::format("--input {}: unknown input '{}'{}", k, k, unknown_input_hint(k, names));
    else if (v.find('\0') != std::string::npos)
      why = fmt::format("--input {}: the value holds a NUL byte (a value is text without NUL)", k);
    else {
      yaml::Node n;
      n.kind = yaml::Node::Kind::Scalar;
      n.scalar = v;
      std::string bad;
      if (!(val = typed(*in, n, &bad)))
        why = fmt::format("--input {}: {}", k, in->secret ? fmt::format("input '{}' has a bad value", k) : bad);
    }
    if (!val) {
      fmt::print(stderr, "runbook: {}\n", why);
      ok = false;
      continue;
    }
    out[k] = *val;
    given.insert(k);
  }
  return ok;
}

}  // namespace

std::optional<Value> resolve_inputs(const model::Runbook& rb, const std::string& inputs_file,
                                    const std::vector<std::string>& pairs, bool check_required) {
  Value out = Value::object();
  std::vector<std::string> names;
  for (auto& in : rb.inputs) {
    names.push_back(in.name);
    out[in.name] = in.default_value.value_or(Value(nullptr));
  }
  std::set<std::string> given;
  bool ok = inputs_file.empty() || read_inputs_file(rb, inputs_file, names, out, given);
  ok = read_input_flags(rb, pairs, names, out, given) && ok;
  for (auto& in : rb.inputs) {
    if (!given.count(in.name) && out[in.name].is_string() &&
        out[in.name].get_ref<const std::string&>().find('\0') != std::string::npos) {
      fmt::print(stderr, "{}:{}:{}: the default of input '{}' holds a NUL byte\n", rb.file, in.pos.line, in.pos.col,
                 in.name);
      ok = false;
    }
    if (check_required && in.required && !given.count(in.name) && out[in.name].is_null()) {
      fmt::print(stderr, "{}:{}:{}: input '{}' is required: give it with --input {}=VALUE or --inputs FILE\n", rb.file,
                 in.pos.line, in.pos.col, in.name, in.name);
      ok = false;
    } else if (check_required && in.required && given.count(in.name) &&
               (out[in.name].is_null() || (out[in.name].is_string() && trim(out[in.name].get<std::string>()).empty()))) {
      // `--input db=$DB_URL` with the variable unset: a required input given empty is a
      // mistake to stop on, not a value to run with.
      fmt::print(stderr, "{}:{}:{}: input '{}' is required but was given empty (`--input {}=` or an empty value "
                         "in the inputs file): give it a value\n",
                 rb.file, in.pos.line, in.pos.col, in.name, in.name);
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace rb::cli
