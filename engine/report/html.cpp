// The incident report as one self-contained HTML file: inline CSS and SVG, no script, no
// fetch (a Content-Security-Policy forbids any), readable on screen and printed to PDF.
#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "base/text.h"
#include "report/report.h"

namespace rb::report {

namespace {

std::string esc(const std::string& s) { return markup_escape(s); }

// A fleet step's per-host table (nothing for other steps).
std::string hosts_html(const StepSummary& s) {
  if (s.hosts.empty() && s.hosts_skipped.empty()) return {};
  size_t failed = 0;
  for (auto& h : s.hosts) failed += h.ok ? 0 : 1;
  std::string out = fmt::format("<h3>Hosts of {}</h3>\n<p class=\"meta\">{} ran, {} failed{}.</p>\n", esc(s.title),
                                s.hosts.size(), failed,
                                s.hosts_skipped.empty() ? "" : fmt::format(", {} not started", s.hosts_skipped.size()));
  out += "<table><tr><th>Host</th><th>Result</th><th>Exit code</th><th>Duration</th><th>Error</th></tr>\n";
  for (auto& h : s.hosts)
    out += fmt::format("<tr><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", esc(h.host),
                       h.ok ? "ok" : "bad", h.ok ? "ok" : "failed", h.exit_code,
                       esc(human_seconds(static_cast<double>(h.duration_ms) / 1000.0)), esc(h.error));
  out += "</table>\n";
  if (!s.hosts_skipped.empty()) {
    std::string names;
    for (auto& n : s.hosts_skipped) names += (names.empty() ? "" : ", ") + esc(n);
    out += "<p>Not started: " + names + ".</p>\n";
  }
  return out;
}

// The little Markdown the timeline uses: **strong** and `code`.
std::string inline_md(const std::string& s) {
  std::string e = esc(s), out;
  bool strong = false, code = false;
  for (size_t i = 0; i < e.size(); ++i) {
    if (e.compare(i, 2, "**") == 0) {
      out += strong ? "</strong>" : "<strong>";
      strong = !strong;
      ++i;
    } else if (e[i] == '`') {
      out += code ? "</code>" : "<code>";
      code = !code;
    } else if (e.compare(i, 2, "\\|") == 0) {
      out += '|';
      ++i;
    } else {
      out += e[i];
    }
  }
  if (strong) out += "</strong>";
  if (code) out += "</code>";
  return out;
}

const char* kCss = R"CSS(
:root { --ok:#2e7d32; --bad:#c62828; --warn:#ef6c00; --muted:#6b7280; --wait:#f9a825; --run:#1565c0; }
* { box-sizing: border-box; }
body { font: 14px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color:#111827; margin:0; background:#f3f4f6; }
main { max-width: 1080px; margin: 0 auto; padding: 24px; background:#fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #e5e7eb; padding-bottom: 4px; }
.meta { color: var(--muted); margin-bottom: 16px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid #e5e7eb; border-radius: 8px; padding: 10px 14px; min-width: 150px; }
.card .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .v { font-size: 18px; font-weight: 600; }
.ok { color: var(--ok); } .bad { color: var(--bad); } .warn { color: var(--warn); }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
th { background: #f9fafb; font-weight: 600; }
ul.timeline { list-style: none; padding: 0; margin: 0; } ul.timeline li { padding: 2px 0; } ul.timeline .t { color: var(--muted); font-family: ui-monospace, Menlo, monospace; margin-right: 8px; }
code { font-family: ui-monospace, Menlo, monospace; background: #f3f4f6; padding: 0 3px; border-radius: 3px; }
.placeholder { color: var(--muted); font-style: italic; }
svg text { font: 12px -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #111827; }
svg .axis { stroke: #9ca3af; } svg .grid { stroke: #e5e7eb; }
svg .budget { fill: none; stroke: #9ca3af; stroke-dasharray: 3 2; }
svg .bar.succeeded, svg .bar.confirmed { fill: var(--ok); } svg .bar.failed { fill: var(--bad); } svg .bar.timed_out { fill: var(--warn); }
svg .bar.skipped { fill: #d1d5db; } svg .bar.running { fill: var(--run); } svg .bar.interrupted { fill: var(--warn); opacity: .6; }
svg .attempt-failed { fill: var(--bad); opacity: .85; } svg .retry { fill: url(#hatch); } svg .approval { fill: var(--wait); }
svg .rto { stroke: var(--bad); stroke-width: 2; stroke-dasharray: 6 4; } svg .recovered { stroke: var(--ok); stroke-width: 2; }
.legend span { display: inline-block; margin-right: 14px; } .legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; }
@media print { body { background: #fff; } main { padding: 0; max-width: none; } h2 { break-after: avoid; } tr, li { break-inside: avoid; } }
)CSS";

std::string chart(const Report& r) {
  const double left = 250, width = 760, row = 26, top = 30;
  double rto_x = r.rto_target ? *r.rto_target - r.clock_offset : -1;
  double span = std::max(1.0, r.duration);
  bool rto_in = rto_x > 0 && rto_x <= 3 * span;
  double domain = std::max(span, rto_in ? rto_x : 0.0) * 1.05;
  auto X = [&](double t) { return left + width * std::clamp(t, 0.0, domain) / domain; };
  double height = top + row * static_cast<double>(r.steps.size()) + 40;
  std::string s = fmt::format(
      "<svg class=\"chart\" viewBox=\"0 0 {} {}\" width=\"100%\" role=\"img\" "
      "aria-label=\"Timeline of the run\">\n"
      "<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
      "<rect width=\"3\" height=\"6\" fill=\"#9ca3af\"/></pattern></defs>\n",
      left + width + 20, height);
  for (int i = 0; i <= 5; ++i) {  // axis
    double t = domain * i / 5.0;
    s += fmt::format("<line class=\"grid\" x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>", X(t), top - 6, X(t), height - 30);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">+{}</text>\n", X(t), height - 14, esc(human_seconds(t)));
  }
  double y = top;
  for (auto& st : r.steps) {
    s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>", left - 8, y + 15,
                     esc(st.title.size() > 34 ? st.title.substr(0, 33) + "…" : st.title));
    if (st.budget_ms)
      s += fmt::format("<rect class=\"budget\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"18\"><title>budget {}</title></rect>",
                       X(st.start), y + 2, std::max(1.0, X(st.start + *st.budget_ms / 1000.0) - X(st.start)),
                       esc(human_seconds(*st.budget_ms / 1000.0)));
    double w = std::max(2.0, X(st.end) - X(st.start));
    s += fmt::format("<rect class=\"bar {}\" data-step=\"{}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"14\" rx=\"2\">"
                     "<title>{}: {} in {} ({} attempt{})</title></rect>",
                     st.result, esc(st.id), X(st.start), y + 4, w, esc(st.title), esc(st.result),
                     esc(human_seconds(st.duration_ms / 1000.0)), st.attempts, st.attempts == 1 ? "" : "s");
    for (auto& sp : st.spans) {
      if (sp.kind == "attempt" && sp.ok) continue;
      const char* cls = sp.kind == "retry-wait" ? "retry" : sp.kind == "approval-wait" ? "approval" : "attempt-failed";
      s += fmt::format("<rect class=\"{}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"14\"><title>{} {}</title></rect>",
                       cls, X(sp.start), y + 4, std::max(2.0, X(sp.end) - X(sp.start)), esc(sp.kind),
                       esc(human_seconds(sp.end - sp.start)));
    }
    s += "\n";
    y += row;
  }
  if (rto_in)
    s += fmt::format("<line class=\"rto\" x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\"/><text x=\"{0:.1f}\" y=\"{3}\" "
                     "text-anchor=\"middle\" class=\"bad\">RTO {4}</text>\n",
                     X(rto_x), top - 6, height - 30, top - 12, esc(human_seconds(*r.rto_target)));
  else if (rto_x > 0)
    s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"end\">RTO {} → (off the chart)</text>\n", left + width, top - 12,
                     esc(human_seconds(*r.rto_target)));
  if (r.status == "recovered")
    s += fmt::format("<line class=\"recovered\" x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\"/><text x=\"{0:.1f}\" y=\"{3}\" "
                     "text-anchor=\"middle\" class=\"ok\">recovered</text>\n",
                     X(r.duration), top - 6, height - 30, top - 12 + (rto_in && std::fabs(X(rto_x) - X(r.duration)) < 60 ? -12 : 0));
  s += "</svg>\n";
  return s;
}

std::string notes_html(const Report& r, const std::string& tag, bool checkbox, const std::string& placeholder) {
  std::string out;
  for (auto& n : r.notes)
    if (n.tag == tag) out += fmt::format("<li>{}{}{}</li>", checkbox ? "☐ " : "", esc(n.text), n.by.empty() ? "" : " — " + esc(n.by));
  if (out.empty()) return fmt::format("<p class=\"placeholder\">{}</p>\n", esc(placeholder));
  return "<ul>" + out + "</ul>\n";
}

}  // namespace

std::string to_html(const Report& r, const std::string& tz) {
  std::string status = r.ongoing ? "Ongoing" : r.status == "recovered" ? "Resolved" : r.status == "aborted" ? "Aborted" : "Failed";
  std::string cls = r.ongoing ? "warn" : r.status == "recovered" ? "ok" : "bad";
  auto start = parse_time(r.run.started_at).value_or(WallTime{});
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  h += fmt::format("<title>{} — {}</title>\n<style>{}</style>\n</head>\n<body>\n<main>\n", esc(r.run.incident), esc(r.run.title), kCss);
  h += fmt::format("<h1>Incident report — {}</h1>\n", esc(r.run.title));
  h += fmt::format("<div class=\"meta\">{} · {} · {} · run <code>{}</code> · runbook <code>{}</code> · operator {}{}</div>\n",
                   esc(calendar_date(start, tz)), esc(r.run.incident), esc(r.run.severity), esc(r.run.id), esc(r.run.runbook),
                   esc(r.run.operator_name), r.run.drill ? " · drill" : "");
  auto card = [&](const std::string& k, const std::string& v, const std::string& c) {
    return fmt::format("<div class=\"card\"><div class=\"k\">{}</div><div class=\"v {}\">{}</div></div>", esc(k), c, esc(v));
  };
  h += "<div class=\"cards\">";
  h += card("Status", status, cls);
  if (r.rto_target) {
    std::string v = !r.ongoing && r.status != "recovered"
                        ? fmt::format("not recovered (clock stopped at {} of {})", human_seconds(r.rto_actual),
                                      human_seconds(*r.rto_target))
                        : fmt::format("{} of {}", human_seconds(r.rto_actual), human_seconds(*r.rto_target));
    h += card(r.ongoing ? "RTO so far" : "RTO", v + (r.rto_met ? (*r.rto_met ? " ✓" : " ✗") : ""),
              r.rto_met ? (*r.rto_met ? "ok" : "bad") : "");
  }
  if (r.rpo_target || r.rpo_measured)
    h += card("RPO", fmt::format("{} of {}", r.rpo_measured ? human_seconds(*r.rpo_measured) : "—",
                                 r.rpo_target ? human_seconds(*r.rpo_target) : "—"),
              r.rpo_met ? (*r.rpo_met ? "ok" : "bad") : "");
  h += card("Downtime", r.downtime ? human_seconds(*r.downtime) : (r.ongoing ? "ongoing" : "not recovered"), "");
  h += card("Steps", std::to_string(r.steps.size()), "");
  h += "</div>\n";
  h += fmt::format("<h2>Summary</h2>\n<p>{} {} after {}{}.</p>\n", esc(r.run.title),
                   r.ongoing ? "is ongoing" : "ended <strong>" + esc(r.status) + "</strong>", esc(human_seconds(r.rto_actual)),
                   r.end_reason.empty() ? "" : " — " + esc(r.end_reason));
  h += "<h2>Timeline chart</h2>\n<p class=\"legend\"><span><i style=\"background:var(--ok)\"></i>succeeded</span>"
       "<span><i style=\"background:var(--bad)\"></i>failed attempt / step</span><span><i style=\"background:var(--warn)\"></i>timed out</span>"
       "<span><i style=\"background:var(--wait)\"></i>waiting for approval</span><span><i style=\"background:#9ca3af\"></i>retry wait</span>"
       "<span><i style=\"border:1px dashed #9ca3af\"></i>budget</span></p>\n";
  h += chart(r);
  h += fmt::format("<h2>Timeline</h2>\n<p class=\"meta\">Times are {}.</p>\n<ul class=\"timeline\">\n", esc(tz.empty() ? "UTC" : tz));
  for (auto& [when, what] : timeline_lines(r, tz))
    h += fmt::format("<li><span class=\"t\">{}</span>{}</li>\n", esc(when), inline_md(what));
  h += "</ul>\n<h2>Impact</h2>\n<table><tr><th>Measure</th><th>Target</th><th>Actual</th></tr>\n";
  h += fmt::format("<tr><td>Downtime (incident start → recovered)</td><td>—</td><td>{}</td></tr>\n",
                   esc(r.downtime ? human_seconds(*r.downtime) : (r.ongoing ? "ongoing" : "not recovered")));
  h += fmt::format("<tr><td>RTO</td><td>{}</td><td class=\"{}\">{}</td></tr>\n", esc(r.rto_target ? human_seconds(*r.rto_target) : "—"),
                   r.rto_met ? (*r.rto_met ? "ok" : "bad") : "",
                   esc(!r.ongoing && r.status != "recovered"
                           ? fmt::format("not recovered (clock stopped at {})", human_seconds(r.rto_actual))
                           : human_seconds(r.rto_actual)));
  h += fmt::format("<tr><td>RPO</td><td>{}</td><td class=\"{}\">{}</td></tr>\n</table>\n", esc(r.rpo_target ? human_seconds(*r.rpo_target) : "—"),
                   r.rpo_met ? (*r.rpo_met ? "ok" : "bad") : "", esc(r.rpo_measured ? human_seconds(*r.rpo_measured) : "not measured"));
  h += notes_html(r, "impact", false, "No impact notes yet.");
  h += "<h2>Root Cause</h2>\n" + notes_html(r, "root-cause", false, fmt::format("Not recorded yet: runbook{} note {} \"…\" --tag root-cause", r.store_flag, r.run.id));
  h += "<h2>Resolution</h2>\n<table><tr><th>#</th><th>Step</th><th>Phase</th><th>Result</th><th>Duration</th><th>Budget</th><th>Attempts</th><th>Answered by</th></tr>\n";
  int n = 0;
  for (auto& s : r.steps) {
    std::string word = result_word(s);
    std::string c = word == "succeeded" || word == "confirmed" ? "ok"
                    : word == "running" || word == "skipped" ? "" : "bad";
    h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                     ++n, esc(s.title), esc(s.phase), c, esc(word),
                     s.gate_failure.empty() ? "" : "<br><small>" + esc(s.gate_failure) + "</small>",
                     esc(human_seconds(s.duration_ms / 1000.0)), esc(s.budget_ms ? human_seconds(*s.budget_ms / 1000.0) : "—"),
                     s.attempts, esc(s.approved_by.empty() ? "" : fmt::format("{} ({})", s.approved_by, s.answer)));
  }
  h += "</table>\n";
  for (auto& s : r.steps) h += hosts_html(s);
  h += "<h2>Prevention</h2>\n" + notes_html(r, "action-item", true, fmt::format("No action items yet: runbook{} note {} \"…\" --tag action-item", r.store_flag, r.run.id));
  h += "<h2>Lessons Learned</h2>\n" + notes_html(r, "lesson", false, fmt::format("None recorded yet: runbook{} note {} \"…\" --tag lesson", r.store_flag, r.run.id));
  h += fmt::format("<h2>Appendix</h2>\n<ul><li>Runbook <code>{}</code> — {} (<code>{}</code>)</li><li>Content hash <code>sha256:{}</code></li>"
                   "<li>Engine runbook {}</li><li>{} timeline events</li></ul>\n",
                   esc(r.run.runbook), esc(r.run.title), esc(r.run.file), esc(r.run.content_hash), esc(r.version), r.events.size());
  h += "</main>\n</body>\n</html>\n";
  return h;
}

}  // namespace rb::report
