// The JSON API (contract §7) and the actions it shares with the pages: start a run,
// answer, note, abort. Answers and notes go through the store to whichever engine drives
// the run (here, another server, a CLI anywhere), as `runbook approve` / `note` do.
#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fmt/format.h>

#include "base/events.h"
#include "base/text.h"
#include "cli/answering.h"
#include "cli/driver.h"
#include "cli/views.h"
#include "serve/pages.h"
#include "serve/server.h"
#include "sys/env.h"

namespace rb::serve {

namespace {

const std::vector<std::string> kTags = {"root-cause", "impact", "action-item", "lesson"};

Result fail(int status, std::string message) { return Result{status, message, {{"error", message}}}; }

std::string text_of(const Value& body, const char* key) {
  return body.contains(key) && body[key].is_string() ? body[key].get<std::string>() : "";
}

bool valid_id(const std::string& s) { return !s.empty() && s.size() <= 64 && is_token(s, "A-Za-z0-9", "A-Za-z0-9._-"); }

}  // namespace

Result Server::start(const Identity& who, const Value& body, const std::string& origin) {
  if (!allows(who.role, Role::Operator)) return fail(403, fmt::format("starting a run needs the operator role; {} is {}", who.name, role_name(who.role)));
  std::string name = text_of(body, "runbook");
  namespace fs = std::filesystem;
  if (!name.empty() && !name.ends_with(".yaml") && !name.ends_with(".yml")) name += ".yaml";
  bool control = std::any_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; });
  if (name.empty() || control || name.find('/') != std::string::npos || name.starts_with("."))
    return fail(400, "runbook: the name of a runbook file under --runbooks (e.g. worker-crash.yaml)");
  std::error_code ec;
  fs::path file = fs::path(flags_.runbooks) / name;
  if (!fs::is_regular_file(file, ec)) return fail(404, fmt::format("no runbook '{}' in {}", name, flags_.runbooks));
  StartSpec s;
  s.file = file.string();
  s.operator_name = who.name;
  s.origin = origin;
  s.incident = text_of(body, "incident");
  if (!s.incident.empty() && !valid_id(s.incident))
    return fail(400, "incident: letters, digits, . _ - (at most 64)");
  if (body.contains("inputs")) {
    if (!body["inputs"].is_object()) return fail(400, "inputs: a map of input name to value");
    for (auto& [k, v] : body["inputs"].items()) {
      if (v.is_object() || v.is_array()) return fail(400, fmt::format("input {}: a single value", k));
      s.inputs[k] = v.is_null() ? "" : to_text(v);
    }
  }
  StartResult r = runs_.start(s);
  if (r.http != 201) {
    Result out = fail(r.http, r.problems.empty() ? "the run could not start" : join(r.problems, "; "));
    out.json["problems"] = r.problems;
    return out;
  }
  return Result{201, fmt::format("run {} started (incident {})", r.run_id, r.incident),
                {{"run", r.run_id}, {"incident", r.incident}}};
}

Result Server::answer(const Identity& who, const std::string& run_id, const Value& body) {
  std::string step = text_of(body, "step"), word = text_of(body, "answer"), comment = text_of(body, "comment");
  auto run = store_.run(run_id);
  if (!run) return fail(404, fmt::format("no run '{}'", run_id));
  auto events = store_.events(run_id);
  std::string waiting;
  auto q = cli::waiting_question(events, step, &waiting);
  // The role first: who may not answer learns nothing about what waits.
  bool manual = q && q->data.value("kind", std::string()) == "manual";
  Role need = !q || manual ? Role::Operator : Role::Approver;  // nothing waits: the least that answers anything
  if (!allows(who.role, need))
    return fail(403, fmt::format("answering {} needs the {} role; {} is {}", manual ? "a manual step" : "an approval",
                                 role_name(need), who.name, role_name(who.role)));
  if (word != "yes" && word != "no" && word != "done") return fail(400, "answer: yes, no or done");
  if (comment.size() > 2000) return fail(400, "comment: at most 2000 characters");
  auto c = cli::check_answer(*run, events, step, word, who.name);
  switch (c.verdict) {
    case cli::AnswerVerdict::Ok: break;
    case cli::AnswerVerdict::NotRunning:
      return fail(409, fmt::format("run {} is {}: nothing waits for an answer", run_id, run->status));
    case cli::AnswerVerdict::NotWaiting:
      return fail(409, fmt::format("step '{}' is not waiting for an answer{}", step,
                                   c.waiting_now.empty() ? "" : fmt::format(" ('{}' is)", c.waiting_now)));
    case cli::AnswerVerdict::SecondPerson:
      return fail(403, fmt::format("{} started run {}: approval '{}' needs a second person", who.name, run_id, step));
    case cli::AnswerVerdict::BadAnswer:
      return fail(400, fmt::format("'{}' is an approval: answer yes or no", step));
  }
  Value req = {{"step", step}, {"answer", word}, {"by", who.name}, {"via", "web"}, {"source", "web"}};
  if (!comment.empty()) req["comment"] = comment;
  if (auto s = store_.post_request(run_id, "answer", req); !s.ok()) return fail(500, s.message());
  return Result{200, fmt::format("{} to '{}' recorded by {}: its engine takes it within a second", word, step, who.name),
                {{"run", run_id}, {"step", step}, {"answer", word}, {"by", who.name}, {"source", "web"}}};
}

Result Server::note(const Identity& who, const std::string& run_id, const Value& body) {
  if (!allows(who.role, Role::Operator)) return fail(403, fmt::format("notes need the operator role; {} is {}", who.name, role_name(who.role)));
  std::string text = text_of(body, "text"), tag = text_of(body, "tag");
  if (trim(text).empty()) return fail(400, "text: the note is empty");
  if (text.size() > 4000) return fail(400, "text: at most 4000 characters");
  if (!tag.empty() && std::find(kTags.begin(), kTags.end(), tag) == kTags.end())
    return fail(400, fmt::format("tag '{}' must be one of root-cause, impact, action-item, lesson", ellipsize(tag, 40)));
  auto run = store_.run(run_id);
  if (!run) return fail(404, fmt::format("no run '{}'", run_id));
  Value n = {{"text", text}, {"by", who.name}, {"source", "web"}};
  if (!tag.empty()) n["tag"] = tag;
  // A live engine journals the note itself (one writer per timeline); otherwise append.
  bool queued = runs_.drives(run_id) || cli::engine_alive(store_, *run);
  Status s = Status::OK();
  if (queued) {
    s = store_.post_request(run_id, "note", n);
  } else {
    journal::Event e;
    auto now = sys::wall_now();
    e.ts = rfc3339_ms(now);
    auto start = parse_time(run->started_at);
    e.t = start ? static_cast<double>(to_unix_ms(now) - to_unix_ms(*start)) / 1000.0 : 0;
    e.type = ev::kNote;
    e.data = n;
    s = store_.append_next(run_id, e);
  }
  if (!s.ok()) return fail(500, s.message());
  return Result{200, queued ? "note sent to the run's engine" : "note added", {{"run", run_id}, {"note", n}, {"queued", queued}}};
}

Result Server::abort(const Identity& who, const std::string& run_id, const Value& body) {
  if (!allows(who.role, Role::Operator)) return fail(403, fmt::format("aborting needs the operator role; {} is {}", who.name, role_name(who.role)));
  auto run = store_.run(run_id);
  if (!run) return fail(404, fmt::format("no run '{}'", run_id));
  bool no_rollback = body.value("no_rollback", false);
  auto [code, msg] = runs_.abort(*run, who.name, no_rollback);
  Result r{code, msg, {{"run", run_id}, {"message", msg}}};
  if (code >= 400) r.json["error"] = msg;
  return r;
}

Value Server::run_view(const journal::RunInfo& r) {
  Room room = build_room(store_, r, runbook_of(r), runs_.live(r.id), to_unix_ms(sys::wall_now()));
  return room_json(store_, room);
}

Outcome Server::events(const Request& r, const std::string& run_id) {
  Outcome out;
  if (!store_.run(run_id)) {
    out.response = json_response(404, {{"error", fmt::format("no run '{}'", run_id)}});
    return out;
  }
  if (sse_.full()) {
    out.response = json_response(503, {{"error", fmt::format("too many event streams open ({}): try again later", sse_.clients())}});
    out.response.headers.emplace_back("Retry-After", "10");
    return out;
  }
  std::string from = r.header("last-event-id");
  if (from.empty() && r.query.count("after")) from = r.query.at("after");
  long long after = std::atoll(from.c_str());
  out.response.content_type = "text/event-stream; charset=utf-8";
  out.stream = [this, run_id, after](std::shared_ptr<EventStream> s) { sse_.join(run_id, after, std::move(s)); };
  return out;
}

Outcome Server::api(const Request& r, const Identity& who, const std::vector<std::string>& parts) {
  Outcome out;
  auto reply = [&out](const Result& res) {
    out.response = json_response(res.status, res.json);
    return out;
  };
  Value body = Value::object();
  if (r.method == "POST" && !r.body.empty()) {
    body = Value::parse(r.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return reply(fail(400, "the body must be a JSON object"));
  }
  size_t n = parts.size();
  if (n < 2 || parts[1] != "runs") return reply(fail(404, "no such route"));
  if (n == 2 && r.method == "GET") {
    int limit = 50;
    if (r.query.count("limit")) {
      const std::string& q = r.query.at("limit");
      auto [end, ec] = std::from_chars(q.data(), q.data() + q.size(), limit);
      if (ec != std::errc() || end != q.data() + q.size() || limit < 1)
        return reply(fail(400, "limit: a whole number, 1 to 1000"));
    }
    Value arr = Value::array();
    for (auto& run : store_.runs(std::clamp(limit, 1, 1000))) arr.push_back(cli::run_row_json(run));
    out.response = json_response(200, arr);
    return out;
  }
  if (n == 2 && r.method == "POST") return reply(start(who, body, "api"));
  if (n < 3) return reply(fail(405, "GET or POST"));
  const std::string& id = parts[2];
  if (n == 3 && r.method == "GET") {
    auto run = store_.run(id);
    if (!run) return reply(fail(404, fmt::format("no run '{}'", id)));
    out.response = json_response(200, run_view(*run));
    return out;
  }
  if (n == 4 && r.method == "GET" && parts[3] == "timeline") {
    if (!store_.run(id)) return reply(fail(404, fmt::format("no run '{}'", id)));
    Value arr = Value::array();
    for (auto& e : store_.events(id)) arr.push_back(e.to_json());
    out.response = json_response(200, arr);
    return out;
  }
  if (n == 4 && r.method == "GET" && parts[3] == "events") return events(r, id);
  if (n == 4 && r.method == "POST" && parts[3] == "answers") return reply(answer(who, id, body));
  if (n == 4 && r.method == "POST" && parts[3] == "notes") return reply(note(who, id, body));
  if (n == 4 && r.method == "POST" && parts[3] == "abort") return reply(abort(who, id, body));
  return reply(fail(404, "no such route"));
}

}  // namespace rb::serve
