#include "serve/pages.h"

#include <fmt/format.h>
#include <map>

#include "base/duration.h"
#include "base/text.h"
#include "base/time.h"
#include "exec/answers.h"
#include "report/console.h"
#include "sys/env.h"

namespace rb::serve {

namespace {

std::string h(std::string_view s) { return markup_escape(s); }

std::string dur(long long ms) { return ms < 0 ? "-" + format_duration_short(Millis(-ms)) : format_duration_short(Millis(ms)); }

std::string hms(const std::string& ts) {
  auto t = parse_time(ts);
  return t ? clock_time(*t, "UTC") : ts;
}

std::string head(const std::string& title, bool refresh) {
  return fmt::format(
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<meta name=\"referrer\" content=\"no-referrer\"><link rel=\"icon\" href=\"data:,\">"
      "<title>{}</title><style>{}</style>{}</head><body>",
      h(title), kPageCss, refresh ? "<noscript><meta http-equiv=\"refresh\" content=\"10\"></noscript>" : "");
}

std::string foot() { return fmt::format("<script>{}</script></body></html>\n", kPageJs); }

std::string hidden_csrf(const Viewer& v) {
  return fmt::format("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", h(v.csrf));
}

std::string top_bar(const Viewer& v) {
  return fmt::format("<header class=\"top\"><a class=\"brand\" href=\"/\">runbook</a><span class=\"who\">{} · {}</span>"
                     "<form method=\"post\" action=\"/logout\">{}<button class=\"plain\">Sign out</button></form></header>",
                     h(v.name), role_name(v.role), hidden_csrf(v));
}

std::string flash_card(const std::string& flash) {
  return flash.empty() ? "" : fmt::format("<section class=\"card flash\" role=\"status\">{}</section>", h(flash));
}

// ---- the incident room ---------------------------------------------------------------

std::string head_card(const Room& r) {
  const journal::RunInfo& run = r.run;
  return fmt::format(
      "<section id=\"head\" class=\"card\"><h1>{}</h1><p><span class=\"badge st-{}\" id=\"status\">{}</span> "
      "<strong>{}</strong> · {} · {}</p><p class=\"meta\">run {} · started {} UTC by {}{}</p>{}</section>",
      h(run.title.empty() ? run.runbook : run.title), h(run.status), h(run.status), h(run.incident), h(run.runbook),
      h(run.severity), h(run.id), h(hms(run.started_at)), h(run.operator_name), run.drill ? " · drill" : "",
      r.engine.empty() ? (run.status == "running" ? "<p class=\"note\">no engine drives it now</p>" : "")
                       : fmt::format("<p class=\"note hide-phone\">engine {}</p>", h(r.engine)));
}

std::string clock_card(const Room& r) {
  const Clock& c = r.clock;
  std::string rto = c.rto_ms ? fmt::format("<small> of RTO {}</small>", dur(c.rto_ms)) : "<small> elapsed (no RTO)</small>";
  std::string line;
  if (c.rto_ms) {
    long long rem = *c.remaining_ms;
    line = fmt::format("<span id=\"remaining\">{}</span> · <span id=\"percent\">{}%</span> used",
                       rem >= 0 ? dur(rem) + " left" : dur(-rem) + " over", static_cast<int>(c.percent));
  }
  if (c.projected_ms) line += fmt::format(" · projected finish <span id=\"projected\">{}</span>", dur(*c.projected_ms));
  std::string state = c.running ? c.state : c.state + " (ended)";
  return fmt::format(
      "<section id=\"clock\" class=\"card clock state-{}\" data-running=\"{}\" data-elapsed=\"{}\" data-rto=\"{}\"{}"
      " data-loaded=\"0\"><h2>RTO clock · <span id=\"clock-state\">{}</span></h2>"
      "<div class=\"big\"><span id=\"elapsed\">{}</span>{}</div>{}<div class=\"line\">{}</div></section>",
      h(c.state), c.running ? 1 : 0, c.elapsed_ms, c.rto_ms,
      c.projected_ms ? fmt::format(" data-projected=\"{}\"", *c.projected_ms) : "", h(state), dur(c.elapsed_ms), rto,
      c.rto_ms ? fmt::format("<meter id=\"rto-meter\" min=\"0\" max=\"100\" low=\"80\" high=\"99.9\" optimum=\"0\" "
                             "value=\"{:.1f}\">{}%</meter>",
                             std::min(c.percent, 100.0), static_cast<int>(c.percent))
               : "",
      line);
}

std::string question_card(const Room& r, const Viewer& v) {
  if (!r.waiting) return "<section id=\"question\" data-key=\"none\" hidden></section>";
  const Question& q = *r.waiting;
  bool manual = q.kind == "manual";
  std::string facts;
  for (auto& [k, val] : q.facts) facts += fmt::format("<dt>{}</dt><dd>{}</dd>", h(k), h(val));
  std::string refused;
  for (auto& why : q.refused) refused += fmt::format("<p class=\"refused\">Refused: {}</p>", h(why));
  std::string deadline =
      q.deadline_ms ? fmt::format("<p class=\"note\">Unanswered at {} UTC it is taken as {}.</p>",
                                  h(clock_time(from_unix_ms(*q.deadline_ms), "UTC")), manual ? "not done" : "rejected")
                    : "";
  Role need = manual ? Role::Operator : Role::Approver;
  std::string form;
  if (!allows(v.role, need)) {
    form = fmt::format("<p class=\"note\">Answering this needs the {} role; you are {}.</p>", role_name(need), role_name(v.role));
  } else if (q.second_person && exec::same_person(v.name, r.run.operator_name)) {
    form = "<p class=\"note\">You started this run: a second person answers this approval.</p>";
  } else {
    form = fmt::format(
        "<form class=\"answer\" method=\"post\" action=\"/runs/{}/answers\">{}<input type=\"hidden\" name=\"step\" "
        "value=\"{}\"><input type=\"text\" name=\"comment\" maxlength=\"500\" placeholder=\"Comment (optional)\" "
        "aria-label=\"comment\"><button class=\"yes\" name=\"answer\" value=\"{}\" id=\"answer-yes\">{}</button>"
        "<button class=\"no\" name=\"answer\" value=\"no\" id=\"answer-no\">{}</button></form>",
        h(r.run.id), hidden_csrf(v), h(q.step), manual ? "done" : "yes", manual ? "Done" : "Approve",
        manual ? "Not done" : "Reject");
  }
  return fmt::format(
      "<section id=\"question\" class=\"card ask\" data-key=\"{}:{}:{}\"><h2>{} · {}</h2><p class=\"prompt\">{}</p>"
      "{}{}{}{}{}{}</section>",
      h(q.step), h(q.asked_at), q.refused.size(), manual ? "A task for a person" : "Approval needed", h(q.step),
      h(q.prompt), q.confirm.empty() ? "" : fmt::format("<p>{}</p>", h(q.confirm)),
      facts.empty() ? "" : "<dl class=\"facts\" id=\"facts\">" + facts + "</dl>",
      q.second_person ? fmt::format("<p class=\"note\">Second person: {} started this run and cannot answer.</p>",
                                    h(r.run.operator_name))
                      : "",
      deadline, refused, form);
}

std::string steps_card(const Room& r) {
  static const std::map<std::string, std::string> marks = {{"succeeded", "✓"}, {"confirmed", "✓"}, {"failed", "✗"},
                                                           {"timed_out", "✗"}, {"running", "▶"},   {"waiting", "?"},
                                                           {"planned", "·"}};
  std::string items;
  for (auto& s : r.steps) {
    auto m = marks.find(s.state);
    std::string time;
    if (s.state != "planned" && s.state != "running" && s.state != "waiting") time = dur(s.duration_ms);
    if (s.budget_ms) time += (time.empty() ? "budget " : " / ") + dur(*s.budget_ms);
    items += fmt::format("<li class=\"s-{}\"><span class=\"mark\" title=\"{}\">{}</span><span class=\"t\">{}{}</span>"
                         "<small class=\"{}\">{}</small></li>",
                         h(s.state), h(s.state), m == marks.end() ? "?" : m->second, h(s.title),
                         s.attempts > 1 ? fmt::format(" <small>(attempt {})</small>", s.attempts) : "",
                         s.over_budget ? "over" : "", h(time));
  }
  return fmt::format("<section id=\"steps\" class=\"card\"><h2>Steps</h2><ol class=\"steps\">{}</ol></section>",
                     items.empty() ? "<li>not started</li>" : items);
}

// The newest events (a page stays light on a phone; the API and the exports have all).
constexpr size_t kPageEvents = 400;

std::string timeline_card(const Room& r) {
  std::string items;
  size_t shown = 0;
  for (auto it = r.events.rbegin(); it != r.events.rend() && shown < kPageEvents; ++it, ++shown)
    items += fmt::format("<li data-seq=\"{}\" class=\"ev-{}\"><time>{}</time>{}</li>", it->seq, h(it->type), h(hms(it->ts)),
                         h(report::Console::describe(*it)));
  if (r.events.size() > shown)
    items += fmt::format("<li class=\"note\">{} earlier events: the JSON export and /api/runs/{}/timeline have them all</li>",
                         r.events.size() - shown, h(r.run.id));
  return fmt::format("<section id=\"timeline\" class=\"card\"><h2>Timeline · newest first</h2><ol class=\"events\">{}"
                     "</ol></section>",
                     items);
}

std::string notes_card(const Room& r, const Viewer& v) {
  std::string list;
  for (auto& n : r.notes)
    list += fmt::format("<li><time>{}</time>{}{} <small>— {}</small></li>", h(hms(n.value("ts", std::string()))),
                        n.contains("tag") ? fmt::format("<strong>[{}]</strong> ", h(n.value("tag", std::string()))) : "",
                        h(n.value("text", std::string())), h(n.value("by", std::string())));
  std::string form;
  if (allows(v.role, Role::Operator))
    form = fmt::format(
        "<form id=\"note-form\" class=\"stack\" method=\"post\" action=\"/runs/{}/notes\">{}<textarea name=\"text\" rows=\"2\" "
        "maxlength=\"4000\" required aria-label=\"note\" placeholder=\"What you see, what you did\"></textarea>"
        "<select name=\"tag\" aria-label=\"tag\"><option value=\"\">no tag</option><option>root-cause</option>"
        "<option>impact</option><option>action-item</option><option>lesson</option></select>"
        "<button class=\"plain\">Add note</button></form>",
        h(r.run.id), hidden_csrf(v));
  return fmt::format("<section id=\"notes\" class=\"card\"><h2>Notes</h2><ol id=\"notes-list\" class=\"events\">{}</ol>{}"
                     "</section>",
                     list, form);
}

std::string exports_card(const Room& r, const Viewer& v) {
  std::string id = h(r.run.id), abort;
  if (allows(v.role, Role::Operator) && (r.run.status == "running" || r.run.status == "interrupted"))
    abort = fmt::format("<form method=\"post\" action=\"/runs/{}/abort\">{}<button class=\"plain\">Abort the run "
                        "(rollbacks newest-first)</button></form>",
                        id, hidden_csrf(v));
  return fmt::format("<section id=\"exports\" class=\"card\"><h2>Report</h2><p class=\"links\">"
                     "<a href=\"/runs/{0}/export/markdown\">Markdown</a><a href=\"/runs/{0}/export/html\">HTML</a>"
                     "<a href=\"/runs/{0}/export/json\">JSON</a><a href=\"/runs/{0}/export/junit\">JUnit</a></p>{1}</section>",
                     id, abort);
}

}  // namespace

std::string room_page(const Room& r, const Viewer& v, const std::string& flash) {
  long long seq = r.events.empty() ? 0 : r.events.back().seq;
  std::string out = head(fmt::format("{} — {}", r.run.incident, r.run.title), r.run.status == "running");
  out += top_bar(v);
  out += fmt::format("<main id=\"room\" class=\"room\" data-run=\"{}\" data-seq=\"{}\">", h(r.run.id), seq);
  out += "<div class=\"col\">" + flash_card(flash) + head_card(r) + clock_card(r) + question_card(r, v) + "</div>";
  out += "<div class=\"col\">" + steps_card(r) + notes_card(r, v) + exports_card(r, v) + "</div>";
  out += "<div class=\"col\">" + timeline_card(r) + "</div>";
  out += "</main>" + foot();
  return out;
}

std::string runs_page(const std::vector<journal::RunInfo>& runs, const std::vector<std::string>& runbooks,
                      const Viewer& v, const std::string& flash) {
  std::string rows;
  for (auto& r : runs)
    rows += fmt::format("<tr><td><a href=\"/runs/{}\">{}</a></td><td>{}</td><td><span class=\"badge st-{}\">{}</span></td>"
                        "<td class=\"hide-phone\">{}</td><td class=\"hide-phone\">{}</td></tr>",
                        h(r.id), h(r.incident), h(r.runbook), h(r.status), h(r.status), h(r.started_at.substr(0, 19)),
                        h(r.operator_name));
  std::string start;
  if (allows(v.role, Role::Operator)) {
    std::string opts;
    for (auto& b : runbooks) opts += fmt::format("<option>{}</option>", h(b));
    start = fmt::format(
        "<section class=\"card\"><h2>Start a run</h2><form class=\"stack\" method=\"post\" action=\"/runs\">{}"
        "<select name=\"runbook\" aria-label=\"runbook\">{}</select><input name=\"incident\" placeholder=\"Incident id "
        "(default: the next INC number)\" aria-label=\"incident\"><textarea name=\"inputs\" rows=\"3\" "
        "placeholder=\"Inputs, one NAME=VALUE per line\" aria-label=\"inputs\"></textarea>"
        "<button class=\"yes\">Start</button></form></section>",
        hidden_csrf(v), opts);
  }
  std::string out = head("runbook — runs", true) + top_bar(v) + "<main>" + flash_card(flash);
  out += fmt::format("<section class=\"card\"><h2>Runs</h2><table><thead><tr><th>Incident</th><th>Runbook</th><th>Status"
                     "</th><th class=\"hide-phone\">Started (UTC)</th><th class=\"hide-phone\">By</th></tr></thead>"
                     "<tbody>{}</tbody></table></section>",
                     rows.empty() ? "<tr><td colspan=\"5\">no runs yet</td></tr>" : rows);
  out += start + "</main>" + foot();
  return out;
}

std::string login_page(const std::string& next, const std::string& error, const std::string& retry) {
  std::string out = head("runbook — sign in", false);
  if (!retry.empty())
    out.insert(out.find("</head>"), fmt::format("<meta http-equiv=\"refresh\" content=\"0;url={}\">", h(retry)));
  out += fmt::format(
      "<main><section class=\"card\"><h1>runbook</h1><p class=\"meta\">Sign in with your token (runbook token create "
      "NAME --role ROLE).</p>{}<form class=\"stack\" method=\"post\" action=\"/login\"><input type=\"hidden\" "
      "name=\"next\" value=\"{}\"><input type=\"password\" name=\"token\" id=\"token\" autocomplete=\"off\" required "
      "aria-label=\"token\" placeholder=\"rbt_…\"><button class=\"yes\" id=\"sign-in\">Sign in</button></form></section></main>",
      error.empty() ? "" : fmt::format("<p class=\"refused\">{}</p>", h(error)), h(next));
  return out + foot();
}

std::string message_page(int status, const std::string& message, const std::string& back) {
  std::string out = head(fmt::format("runbook — {}", status), false);
  out += fmt::format("<main><section class=\"card\"><h1>{}</h1><p id=\"message\">{}</p><p><a href=\"{}\">Back</a></p>"
                     "</section></main>",
                     status, h(message), h(back));
  return out + foot();
}

}  // namespace rb::serve
