// The pages' routes: GET / and /runs/{id}, the exports, and the forms (start, answer,
// note, abort), which do what the API does and then send the browser back to the room
// (303), or show why not.
#include <filesystem>
#include <fmt/format.h>

#include "base/text.h"
#include "cli/common.h"
#include "parse/runbook_parser.h"
#include "report/report.h"
#include "serve/pages.h"
#include "serve/server.h"
#include "sys/env.h"

namespace rb::serve {

namespace {

Response page(int status, std::string body) {
  return Response{status, "text/html; charset=utf-8", std::move(body), {{"Content-Security-Policy", page_csp()}}};
}

Response see_other(const std::string& where) {
  return Response{303, "text/plain; charset=utf-8", "see " + where + "\n", {{"Location", where}}};
}

// What a form did, named by a fixed code in the address: never text from the request.
const std::map<std::string, std::string> kDone = {
    {"answered", "Answer recorded: the run's engine takes it within a second."},
    {"noted", "Note added."},
    {"aborting", "Abort sent: rollbacks run newest-first, then the run ends aborted."},
    {"started", "Run started."}};

std::string flash_of(const Request& r) {
  auto it = r.query.find("done");
  if (it == r.query.end()) return "";
  auto m = kDone.find(it->second);
  return m == kDone.end() ? "" : m->second;
}

Value form_json(const Request& r) {
  Value v = Value::object();
  for (auto& [k, x] : parse_form(r.body))
    if (k != "csrf") v[k] = x;
  return v;
}

// "NAME=VALUE" lines of the start form.
Value inputs_of(const std::string& text) {
  Value v = Value::object();
  for (auto& line : split_lines(text)) {
    std::string l(trim(line));
    size_t eq = l.find('=');
    if (l.empty() || eq == std::string::npos || eq == 0) continue;
    v[std::string(trim(l.substr(0, eq)))] = std::string(trim(l.substr(eq + 1)));
  }
  return v;
}

}  // namespace

std::vector<std::string> Server::runbook_files() const {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(flags_.runbooks, ec)) {
    std::string n = e.path().filename().string();
    if (e.is_regular_file(ec) && (n.ends_with(".yaml") || n.ends_with(".yml"))) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The runbook a run was started from, parsed once per content: only while the file still
// holds the content the run started with (else the plan shown would not be the run's).
const model::Runbook* Server::runbook_of(const journal::RunInfo& r) {
  if (r.file.empty()) return nullptr;
  auto it = runbooks_.find(r.file);
  if (it == runbooks_.end() || it->second.hash != r.content_hash) {
    Diagnostics d(r.file);
    auto rb = parse::load_runbook(r.file, *page_reg_, d);
    Cached c;
    if (rb) {
      c.hash = rb->content_hash;
      c.rb = std::make_shared<model::Runbook>(std::move(*rb));
    }
    it = runbooks_.insert_or_assign(r.file, std::move(c)).first;
  }
  return it->second.rb && it->second.hash == r.content_hash ? it->second.rb.get() : nullptr;
}

Outcome Server::room(const Request& r, const Identity& who, const std::string& run_id) {
  Outcome out;
  auto run = store_.run(run_id);
  if (!run) {
    out.response = page(404, message_page(404, fmt::format("No run '{}'.", run_id), "/"));
    return out;
  }
  Room room = build_room(store_, *run, runbook_of(*run), runs_.live(run_id), to_unix_ms(sys::wall_now()));
  out.response = page(200, room_page(room, Viewer{who.name, who.role, csrf_for(who.token)}, flash_of(r)));
  return out;
}

Outcome Server::exported(const std::string& run_id, const std::string& format) {
  Outcome out;
  auto run = store_.run(run_id);
  if (!run) {
    out.response = page(404, message_page(404, fmt::format("No run '{}'.", run_id), "/"));
    return out;
  }
  // As `runbook export`: a report is a record handed to others, never built from a
  // damaged or tampered timeline.
  if (Status s = cli::verify_timeline(store_, run_id); !s.ok()) {
    out.response = page(500, message_page(500, fmt::format("Run {}: the timeline is damaged: {}; no report.", run_id,
                                                           s.message()), "/runs/" + run_id));
    return out;
  }
  auto rep = report::build_report(*run, store_.events(run_id), sys::wall_now(), cli::version());
  static const std::map<std::string, std::pair<std::string, std::string>> kinds = {
      {"markdown", {"text/markdown; charset=utf-8", "md"}},
      {"html", {"text/html; charset=utf-8", "html"}},
      {"json", {"application/json", "json"}},
      {"junit", {"application/xml", "xml"}}};
  auto k = kinds.find(format);
  if (k == kinds.end()) {
    out.response = page(404, message_page(404, "Exports are markdown, html, json and junit.", "/runs/" + run_id));
    return out;
  }
  std::string text = format == "markdown" ? report::to_markdown(rep, "UTC")
                     : format == "html"   ? report::to_html(rep, "UTC")
                     : format == "junit"  ? report::to_junit(rep)
                                          : report::to_json(rep).dump(2) + "\n";
  // A download, never rendered as one of this server's pages (the HTML report has its own
  // inline style and script).
  out.response = Response{200, k->second.first, std::move(text),
                          {{"Content-Disposition", fmt::format("attachment; filename=\"{}.{}\"", run->incident, k->second.second)},
                           {"Content-Security-Policy", "sandbox"}}};
  return out;
}

Outcome Server::web(const Request& r, const Identity& who, const std::vector<std::string>& parts) {
  Outcome out;
  Viewer v{who.name, who.role, csrf_for(who.token)};
  size_t n = parts.size();
  if (n == 0 && r.method == "GET") {
    out.response = page(200, runs_page(store_.runs(100), runbook_files(), v, flash_of(r)));
    return out;
  }
  if (n == 0 || parts[0] != "runs") {
    out.response = page(404, message_page(404, "No such page.", "/"));
    return out;
  }
  auto after = [&](const Result& res, const std::string& done, const std::string& back) {
    if (res.status < 300) out.response = see_other(back + "?done=" + done);
    else out.response = page(res.status, message_page(res.status, res.message, back));
    return out;
  };
  if (n == 1 && r.method == "POST") {
    Value body = form_json(r);
    body["inputs"] = inputs_of(body.value("inputs", std::string()));
    Result res = start(who, body, "web");
    return after(res, "started", res.status < 300 ? "/runs/" + res.json.value("run", std::string()) : "/");
  }
  if (n < 2) {
    out.response = page(405, message_page(405, "GET or POST.", "/"));
    return out;
  }
  const std::string& id = parts[1];
  std::string back = "/runs/" + id;
  if (n == 2 && r.method == "GET") return room(r, who, id);
  if (n == 4 && r.method == "GET" && parts[2] == "export") return exported(id, parts[3]);
  if (n == 3 && r.method == "POST" && parts[2] == "answers") return after(answer(who, id, form_json(r)), "answered", back);
  if (n == 3 && r.method == "POST" && parts[2] == "notes") return after(note(who, id, form_json(r)), "noted", back);
  if (n == 3 && r.method == "POST" && parts[2] == "abort") return after(abort(who, id, form_json(r)), "aborting", back);
  out.response = page(404, message_page(404, "No such page.", back));
  return out;
}

}  // namespace rb::serve
