#include "serve/alerts.h"

#include <fmt/format.h>

#include "base/events.h"
#include "base/text.h"
#include "cli/driver.h"
#include "sys/env.h"

namespace rb::serve {

namespace {

constexpr size_t kMaxAlerts = 1000;  // one notification: Alertmanager's groups are far smaller

// The names a trigger's templates see: only `alert`.
class AlertScope : public expr::Scope {
 public:
  explicit AlertScope(const Value& alert) : root_(alert) {}
  const Value* root(const std::string& name) const override { return name == "alert" ? &root_ : nullptr; }
  std::optional<std::string> env(const std::string&) const override { return std::nullopt; }

 private:
  const Value& root_;
};

std::optional<std::string> render_text(const expr::Template& t, const Value& alert, std::string* why) {
  AlertScope scope(alert);
  expr::Error err;
  auto r = expr::render(t, scope, &err);
  if (!r) {
    *why = err.message;
    return std::nullopt;
  }
  return to_text(r->value);
}

// An alert's labels and annotations as text maps (Alertmanager sends strings; anything
// else is made text).
Value string_map(const Value& v) {
  Value out = Value::object();
  if (!v.is_object()) return out;
  for (auto& [k, x] : v.items()) out[k] = x.is_string() ? x : Value(to_text(x));
  return out;
}

// What the templates see of an alert, and what the timeline records of it.
Value alert_scope(const Value& a) {
  auto text = [&](const char* k) { return a.contains(k) && a[k].is_string() ? a[k].get<std::string>() : std::string(); };
  return Value{{"status", text("status")},       {"labels", string_map(a.value("labels", Value::object()))},
               {"annotations", string_map(a.value("annotations", Value::object()))},
               {"fingerprint", text("fingerprint")}, {"startsAt", text("startsAt")}, {"endsAt", text("endsAt")},
               {"generatorURL", text("generatorURL")}};
}

Value recorded(const Value& scope, const std::string& trigger) {
  return Value{{"fingerprint", scope["fingerprint"]}, {"startsAt", scope["startsAt"]}, {"endsAt", scope["endsAt"]},
               {"status", scope["status"]},           {"labels", scope["labels"]},     {"trigger", trigger}};
}

bool valid_incident(const std::string& s) {
  return !s.empty() && s.size() <= 64 && is_token(s, "A-Za-z0-9", "A-Za-z0-9._-");
}

}  // namespace

Alerts::Alerts(journal::Store& store, RunManager& runs, std::vector<Trigger> triggers)
    : store_(store), runs_(runs), triggers_(std::move(triggers)) {}

std::map<std::string, exec::GivenAnswer> Alerts::answers_of(const journal::ServeRun& sr) const {
  if (!sr.alert.is_object()) return {};
  std::string name = sr.alert.value("trigger", std::string());
  for (auto& t : triggers_)
    if (t.name == name) return t.answers;
  return {};
}

std::pair<int, Value> Alerts::webhook(const std::string& body, const std::string& by) {
  Value v = Value::parse(body, nullptr, false);
  if (v.is_discarded() || !v.is_object())
    return {400, {{"error", "the body is not JSON: expected Alertmanager's webhook (version 4)"}}};
  if (v.value("version", std::string()) != "4")
    return {400, {{"error", "only Alertmanager's webhook version 4 is understood (\"version\": \"4\")"}}};
  if (!v.contains("alerts") || !v["alerts"].is_array())
    return {400, {{"error", "the webhook has no \"alerts\" list"}}};
  if (v["alerts"].size() > kMaxAlerts)
    return {400, {{"error", fmt::format("more than {} alerts in one notification", kMaxAlerts)}}};
  Value runs = Value::array();
  for (auto& a : v["alerts"]) runs.push_back(a.is_object() ? one(a, by) : Value{{"status", "error"}, {"error", "an alert is a JSON object"}});
  return {202, {{"runs", runs}}};
}

Value Alerts::one(const Value& a, const std::string& by) {
  Value scope = alert_scope(a);
  Value out = {{"fingerprint", scope["fingerprint"]}, {"alertname", scope["labels"].value("alertname", std::string())}};
  const Trigger* t = nullptr;
  for (auto& cand : triggers_) {
    bool all = true;
    for (auto& [k, want] : cand.match)
      all = all && scope["labels"].contains(k) && scope["labels"][k].get<std::string>() == want;
    if (all) {
      t = &cand;
      break;
    }
  }
  if (!t) {
    out["status"] = "unmatched";
    return out;
  }
  out["trigger"] = t->name;
  std::string why, incident = scope["fingerprint"].get<std::string>();
  if (t->incident) {
    auto r = render_text(*t->incident, scope, &why);
    if (!r) {
      out["status"] = "error";
      out["error"] = "incident: " + why;
      return out;
    }
    incident = *r;
  }
  if (!valid_incident(incident)) {
    out["status"] = "error";
    out["error"] = fmt::format("incident '{}' is not an id (letters, digits, . _ -, at most 64)", ellipsize(incident, 80));
    return out;
  }
  out["incident"] = incident;
  if (scope["status"] == "resolved") return resolved(scope, incident, std::move(out));
  return firing(*t, scope, incident, by, std::move(out));
}

Value Alerts::firing(const Trigger& t, const Value& scope, const std::string& incident, const std::string& by, Value out) {
  Value rec = recorded(scope, t.name);
  auto earlier = store_.runs_of_incident(incident);
  if (!earlier.empty()) {
    const journal::RunInfo& last = earlier.back();
    bool going = last.status == "running" || last.status == "interrupted";
    auto sr = going ? std::nullopt : store_.serve_run(last.id);
    bool same_episode = sr && sr->alert.is_object() && sr->alert.value("startsAt", std::string()) == scope["startsAt"];
    if (going || same_episode) {
      out["run"] = last.id;
      out["status"] = record(last, false, rec) ? "repeated" : "error";
      return out;
    }
  }
  StartSpec s;
  s.file = t.path;
  for (auto& [name, tpl] : t.inputs) {
    std::string why;
    auto v = render_text(tpl, scope, &why);
    if (!v) {
      out["status"] = "error";
      out["error"] = fmt::format("input {}: {}", name, why);
      return out;
    }
    s.inputs[name] = *v;
  }
  s.incident = incident;
  s.operator_name = by;
  s.answers = t.answers;
  s.origin = "alert";
  s.alert = rec;
  StartResult r = runs_.start(s);
  if (r.http == 201) {
    out["status"] = "started";
    out["run"] = r.run_id;
  } else if (r.lease == cli::LeaseResult::Held || (r.http == 409 && runs_.drives_incident(incident))) {
    out["status"] = "elsewhere";  // another engine holds the incident: it handles the alert
  } else {
    out["status"] = "error";
    out["error"] = join(r.problems, "; ");
  }
  return out;
}

Value Alerts::resolved(const Value& scope, const std::string& incident, Value out) {
  auto earlier = store_.runs_of_incident(incident);
  if (earlier.empty()) {
    out["status"] = "unmatched";
    out["error"] = "no run for this alert";
    return out;
  }
  const journal::RunInfo& last = earlier.back();
  out["run"] = last.id;
  for (auto& e : store_.events(last.id))
    if (e.type == ev::kAlertResolved && e.data.value("startsAt", std::string()) == scope["startsAt"] &&
        e.data.value("fingerprint", std::string()) == scope["fingerprint"]) {
      out["status"] = "resolved";  // said already
      return out;
    }
  out["status"] = record(last, true, recorded(scope, out.value("trigger", std::string()))) ? "resolved" : "error";
  return out;
}

bool Alerts::record(const journal::RunInfo& r, bool resolved, const Value& alert) {
  // A run that goes on has (or will have) an engine: it journals the alert itself, so
  // the timeline keeps one writer. An ended run has none: the event is appended.
  if (r.status == "running" || r.status == "interrupted" || runs_.drives(r.id))
    return store_.post_request(r.id, "alert", {{"resolved", resolved}, {"alert", alert}}).ok();
  journal::Event e;
  auto now = sys::wall_now();
  e.ts = rfc3339_ms(now);
  auto start = parse_time(r.started_at);
  e.t = start ? static_cast<double>(to_unix_ms(now) - to_unix_ms(*start)) / 1000.0 : 0;
  e.type = resolved ? ev::kAlertResolved : ev::kAlertRepeated;
  e.data = alert;
  return store_.append_next(r.id, e).ok();
}

}  // namespace rb::serve
