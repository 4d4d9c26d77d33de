// runbook export RUN_ID --format markdown|json|html|junit [-o FILE] [--tz ZONE]
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cli/commands.h"
#include "sys/env.h"
#include "sys/files.h"
#include "report/report.h"

namespace rb::cli {

namespace {
// Reports hold run data: written 0600, atomically (temp file + rename).
bool write_private(const std::string& path, const std::string& data) {
  auto s = sys::write_file(path, data, 0600, sys::Existing::Replace);
  if (!s.ok()) error(s.message());
  return s.ok();
}
}  // namespace

int cmd_export(const Global& g, const std::string& run_id, const std::string& format, const std::string& out,
               const std::string& tz) {
  if (!known_time_zone(tz)) {
    error(fmt::format("--tz '{}' is not a known time zone (e.g. UTC, Europe/Paris)", tz));
    return kInvalid;
  }
  int code = kEngine;
  auto store = open_existing_store_or_report(g, &code);
  if (!store) return code;
  auto run = store->run(run_id);
  if (!run) {
    error(no_run_message(g, *store, run_id));
    return kInvalid;
  }
  // A report is a record handed to others: it is not written from a damaged or tampered
  // timeline (exit 4 naming the event; `runbook timeline` still shows the events).
  if (Status s = verify_timeline(*store, run_id); !s.ok()) {
    error(fmt::format("run {}: the timeline is damaged: {}; no report written", run_id, s.message()));
    return kEngine;
  }
  auto rep = report::build_report(*run, store->events(run_id), sys::wall_now(), version());
  rep.store_flag = store_flag(g);
  std::string text;
  if (format == "markdown") text = report::to_markdown(rep, tz);
  else if (format == "html") text = report::to_html(rep, tz);
  else if (format == "junit") text = report::to_junit(rep);
  else text = report::to_json(rep).dump(2) + "\n";
  if (out.empty() || out == "-") {
    fmt::print("{}", text);
    return kOk;
  }
  if (!write_private(out, text)) return kEngine;
  if (!g.json) fmt::print(stderr, "wrote {} ({}{})\n", out, format, rep.ongoing ? ", run ongoing" : "");
  return kOk;
}

}  // namespace rb::cli
