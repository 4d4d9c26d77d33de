// runbook: the command line (contract section 3). Subcommands are one table (kCommands)
// of name, help and a function that declares the subcommand's flags and returns what
// runs it; parsing is CLI11's, kept to this one translation unit. describe() turns the
// parsed table into plain values (cli/spec.h) for the man pages and shell completions.
#include <algorithm>
#include <charconv>
#include <CLI/CLI.hpp>

#include <csignal>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <functional>
#include <optional>
#include <memory>

#include "cli/commands.h"
#include "base/text.h"
#include "cli/spec.h"
#include "journal/store.h"
#include "serve/serve.h"

using namespace rb::cli;

namespace {

const char* kIntro =
    "runbook — run recovery runbooks against their RTO.\n\n"
    "A runbook is a YAML state machine of timed steps with verification gates.\n"
    "Exit codes: 0 recovered, 1 failed, 2 invalid runbook/inputs/usage (nothing ran),\n"
    "3 aborted or interrupted (operator, rejection, SIGINT), 4 engine or store error.";

using Runner = std::function<int(const Global&)>;

// Flags live as long as the parse: each adder keeps them in a shared_ptr its Runner holds.
template <typename T>
std::shared_ptr<T> flags() {
  return std::make_shared<T>();
}

Runner add_validate(CLI::App& c) {
  auto files = flags<std::vector<std::string>>();
  c.add_option("FILE", *files, "Runbook files")->required();
  return [files](const Global& g) { return cmd_validate(g, *files); };
}

Runner add_plan(CLI::App& c) {
  auto f = flags<std::pair<std::string, std::string>>();
  f->second = "text";
  c.add_option("FILE", f->first, "Runbook file")->required();
  c.add_option("--format", f->second, "text, mermaid, dot or json")->type_name("FORMAT")->check(CLI::IsMember({"text", "mermaid", "dot", "json"}));
  return [f](const Global& g) { return cmd_plan(g, f->first, f->second); };
}

Runner add_run(CLI::App& c) {
  auto f = flags<RunFlags>();
  c.add_option("FILE", f->file, "Runbook file")->required();
  c.add_option("--input", f->inputs, "An input as NAME=VALUE (repeatable)")->type_name("NAME=VALUE");
  c.add_option("--inputs", f->inputs_file, "A YAML file of inputs (NAME: VALUE)")->type_name("FILE");
  c.add_option("--dry-run", f->dry_run,
               "Print the path and each rendered action, execute nothing; "
               "--dry-run=probes also runs the read-only (mutates: false) actions and checks")
      ->type_name("MODE")
      ->expected(0, 1)
      ->default_str("plain")
      ->check(CLI::IsMember({"plain", "probes"}));
  c.add_flag("--yes,-y", f->yes, "Approve every approval and manual step (drills; second-person approvals only with --drill)");
  c.add_option("--answer", f->answers, "Answer a step ahead: STEP=yes|no|done, optionally @NAME for who answered")
      ->type_name("STEP=ANSWER");
  c.add_option("--operator", f->operator_name, "Who runs this (default $USER, else the account name)")->type_name("NAME");
  c.add_option("--incident", f->incident, "Incident id (default INC-YYYYMMDD-NNN)")->type_name("ID");
  c.add_option("--incident-start", f->incident_start, "When the incident began (RFC 3339): the RTO clock starts there")
      ->type_name("TIME");
  c.add_flag("--drill", f->drill, "Mark the run as a drill (run.drill = true)");
  c.add_option("--tz", f->tz, "Time zone for the live view's clock (default UTC)")->type_name("ZONE");
  return [f](const Global& g) { return cmd_run(g, *f); };
}

Runner add_resume(CLI::App& c) {
  auto f = flags<ResumeFlags>();
  c.add_option("RUN_ID", f->run_id, "The run")->required();
  c.add_option("--input", f->inputs, "Give an input again (secrets are never stored): NAME=VALUE")->type_name("NAME=VALUE");
  c.add_option("--inputs", f->inputs_file, "A YAML file of inputs")->type_name("FILE");
  c.add_option("--answer", f->answers,
               "Answer a step: STEP=yes|no|done[@NAME]; for an interrupted step that is not idempotent: "
               "yes runs it again, done counts it completed, no aborts the run")
      ->type_name("STEP=ANSWER");
  c.add_flag("--yes,-y", f->yes, "Approve every approval and manual step");
  c.add_option("--operator", f->operator_name, "Who resumes (default $USER, else the account name)")->type_name("NAME");
  c.add_flag("--allow-changed", f->allow_changed, "Resume even though the runbook file changed since the run started");
  c.add_option("--tz", f->tz, "Time zone for the live view's clock")->type_name("ZONE");
  return [f](const Global& g) { return cmd_resume(g, *f); };
}

Runner add_abort(CLI::App& c) {
  auto f = flags<AbortFlags>();
  c.add_option("RUN_ID", f->run_id, "The run")->required();
  c.add_flag("--no-rollback", f->no_rollback, "Give up without running the rollbacks (protection stays as it is)");
  c.add_option("--input", f->inputs, "Give a secret input again for the rollbacks (secrets are never stored): NAME=VALUE")
      ->type_name("NAME=VALUE");
  c.add_option("--inputs", f->inputs_file, "A YAML file of inputs (for the rollbacks' secrets)")->type_name("FILE");
  c.add_option("--as", f->as, "Who gives up (default $USER, else the account name)")->type_name("NAME");
  return [f](const Global& g) { return cmd_abort(g, *f); };
}

Runner add_approve(CLI::App& c) {
  auto f = flags<ApproveFlags>();
  c.add_option("RUN_ID", f->run_id, "The run")->required();
  c.add_option("STEP", f->step, "The approval or manual step that waits")->required();
  c.add_option("ANSWER", f->answer, "yes, no or done")->required()->check(CLI::IsMember({"yes", "no", "done", "y", "n"}));
  c.add_option("--as", f->as, "Who answers (default $USER, else the account name)")->type_name("NAME");
  c.add_option("--comment", f->comment, "Why (recorded with the answer)");
  return [f](const Global& g) { return cmd_approve(g, *f); };
}

Runner add_runs(CLI::App& c) {
  auto limit = flags<int>();
  *limit = 20;
  c.add_option("--limit", *limit, "How many (newest first)")
      ->type_name("N")
      ->check(CLI::Validator(
          [](std::string& s) -> std::string {
            long long n = 0;
            auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
            if (ec != std::errc() || p != s.data() + s.size() || n < 1)
              return "'" + s + "' is not a whole number of runs (1 or more)";
            return {};
          },
          "N >= 1"));
  return [limit](const Global& g) { return cmd_runs(g, *limit); };
}

Runner add_status(CLI::App& c) {
  auto id = flags<std::string>();
  c.add_option("RUN_ID", *id, "The run")->required();
  return [id](const Global& g) { return cmd_status(g, *id); };
}

Runner add_timeline(CLI::App& c) {
  auto f = flags<std::pair<std::string, std::string>>();
  f->second = "UTC";
  c.add_option("RUN_ID", f->first, "The run")->required();
  c.add_option("--tz", f->second, "Time zone for clock times (default UTC)")->type_name("ZONE");
  return [f](const Global& g) { return cmd_timeline(g, f->first, f->second); };
}

Runner add_note(CLI::App& c) {
  auto f = flags<std::array<std::string, 4>>();  // run, text, tag, operator
  c.add_option("RUN_ID", (*f)[0], "The run")->required();
  c.add_option("TEXT", (*f)[1], "The note")->required();
  c.add_option("--tag", (*f)[2], "root-cause, impact, action-item or lesson")->type_name("TAG");
  c.add_option("--operator", (*f)[3], "Who writes it (default $USER, else the account name)")->type_name("NAME");
  return [f](const Global& g) { return cmd_note(g, (*f)[0], (*f)[1], (*f)[2], (*f)[3]); };
}

Runner add_export(CLI::App& c) {
  auto f = flags<std::array<std::string, 4>>();  // run, format, output, tz
  (*f)[1] = "markdown";
  (*f)[3] = "UTC";
  c.add_option("RUN_ID", (*f)[0], "The run")->required();
  CLI::Option* format = c.add_option("--format", (*f)[1], "markdown, json, html or junit (--json alone: json)")
                            ->type_name("FORMAT")
                            ->check(CLI::IsMember({"markdown", "json", "html", "junit"}));
  c.add_option("-o,--output", (*f)[2], "Write to FILE (0600) instead of stdout")->type_name("FILE");
  c.add_option("--tz", (*f)[3], "Time zone for clock times (default UTC)")->type_name("ZONE");
  // `--json makes every command print JSON`: without a --format, that is the json report.
  return [f, format](const Global& g) {
    return cmd_export(g, (*f)[0], g.json && format->count() == 0 ? "json" : (*f)[1], (*f)[2], (*f)[3]);
  };
}

// --image and --store-secret, for every command that writes Kubernetes manifests.
void add_k8s_common(CLI::App& c, std::string& image, std::string& store_secret) {
  c.add_option("--image", image,
               "Kubernetes: the container image the pods run, with runbook on its PATH (required; no default)")
      ->type_name("IMAGE");
  c.add_option("--store-secret", store_secret,
               "Kubernetes: a Secret that exists and holds the PostgreSQL store URL (key RUNBOOK_STORE unless :KEY); "
               "without it --store/RUNBOOK_STORE is written to a Secret manifest of mode 0600")
      ->type_name("NAME[:KEY]");
}

Runner add_drill(CLI::App& c) {
  auto f = flags<DrillFlags>();
  c.add_option("--drills", f->file, "The drills file (default drills.yaml)")->type_name("FILE");
  c.require_subcommand(1);
  auto* list = c.add_subcommand("list", "Each drill and its next three run times");
  list->add_option("--at", f->at, "From this time (RFC 3339; default now)")->type_name("TIME");
  auto* due = c.add_subcommand("due", "Drills due since their last run");
  due->add_option("--at", f->at, "As of this time (RFC 3339; default now)")->type_name("TIME");
  auto* run = c.add_subcommand("run", "Run a drill: setup, the runbook as a drill, teardown (always); record the result");
  run->add_option("NAME", f->name, "The drill");
  run->add_flag("--due", f->due, "Run every due drill, one after another (what a scheduler calls)");
  run->add_option("--at", f->at, "With --due: as of this time (RFC 3339; default now)")->type_name("TIME");
  auto* hist = c.add_subcommand("history", "Scorecards over time, and steps that got markedly slower");
  hist->add_option("NAME", f->name, "Only this drill");
  hist->add_option("--tz", f->tz, "Time zone for dates (default UTC)")->type_name("ZONE");
  auto* inst = c.add_subcommand("install", "Write entries for cron, systemd timers or Kubernetes CronJobs");
  auto target = std::make_shared<std::array<bool, 3>>();  // cron, systemd, k8s
  inst->add_flag("--cron", (*target)[0], "crontab lines");
  inst->add_flag("--systemd", (*target)[1], "a .service + .timer pair per drill");
  inst->add_flag("--k8s", (*target)[2],
                 "Kubernetes: a ConfigMap of the drills file and its runbooks, a CronJob per drill (needs --image and a "
                 "PostgreSQL store)");
  inst->add_option("--dir", f->dir, "Write files into DIR instead of stdout")->type_name("DIR");
  add_k8s_common(*inst, f->image, f->store_secret);
  for (auto* sub : {list, due, run, hist, inst}) sub->fallthrough();
  return [f, target, list, due, run, hist](const Global& g) {
    f->action = *list ? "list" : *due ? "due" : *run ? "run" : *hist ? "history" : "install";
    if (f->action == "run" && f->name.empty() && !f->due) {
      fmt::print(stderr, "runbook: drill run needs a NAME or --due\n");
      return static_cast<int>(kInvalid);
    }
    if (f->action == "install") {
      auto& t = *target;
      if (t[0] + t[1] + t[2] != 1) {
        fmt::print(stderr, "runbook: drill install needs exactly one of --cron, --systemd, --k8s\n");
        return static_cast<int>(kInvalid);
      }
      f->target = t[0] ? "cron" : t[1] ? "systemd" : "k8s";
    }
    return cmd_drill(g, *f);
  };
}

Runner add_k8s(CLI::App& c) {
  auto s = flags<K8sServeFlags>();
  auto d = flags<DrillFlags>();
  d->action = "install";
  d->target = "k8s";
  c.require_subcommand(1);
  auto* serve = c.add_subcommand("serve",
                                 "A ConfigMap of the runbooks (and triggers), a Deployment running runbook serve with "
                                 "probes on /healthz, and its Service");
  add_k8s_common(*serve, s->image, s->store_secret);
  serve->add_option("--dir", s->dir, "Write files into DIR instead of stdout")->type_name("DIR");
  serve->add_option("--runbooks", s->runbooks, "The runbooks to serve (default runbooks)")->type_name("DIR");
  serve->add_option("--triggers", s->triggers, "The alert triggers file (contract section 7)")->type_name("FILE");
  serve->add_option("--port", s->port, "The port serve listens on and the Service exposes (default 8088)")
      ->type_name("PORT");
  serve->add_option("--replicas", s->replicas, "serve pods (default 1; they share the PostgreSQL store)")
      ->type_name("N");
  auto* drills = c.add_subcommand("drills", "The same as drill install --k8s: a ConfigMap and a CronJob per drill");
  drills->add_option("--drills", d->file, "The drills file (default drills.yaml)")->type_name("FILE");
  add_k8s_common(*drills, d->image, d->store_secret);
  drills->add_option("--dir", d->dir, "Write files into DIR instead of stdout")->type_name("DIR");
  return [s, d, serve](const Global& g) { return *serve ? cmd_k8s_serve(g, *s) : cmd_drill(g, *d); };
}

Runner add_import(CLI::App& c) {
  auto f = flags<ImportFlags>();
  c.add_option("FILE", f->file, "The Markdown file")->required();
  c.add_option("-o,--output", f->out, "OUT.yaml for one runbook, or DIR for one file per runbook (default stdout)")
      ->type_name("PATH");
  c.add_flag("--force", f->force, "Replace files that exist");
  return [f](const Global& g) { return cmd_import(g, *f); };
}

Runner add_serve(CLI::App& c) {
  auto f = flags<rb::serve::ServeFlags>();
  c.add_option("--listen", f->listen, "HOST:PORT to listen on (default 127.0.0.1:8088; port 0: any free one)")
      ->type_name("HOST:PORT");
  c.add_option("--runbooks", f->runbooks, "Folder of the runbooks runs start from (default runbooks)")->type_name("DIR");
  c.add_option("--triggers", f->triggers, "Which alert starts which runbook (YAML)")->type_name("FILE");
  c.add_option("--tls-cert", f->tls_cert, "TLS certificate chain (PEM); with --tls-key")->type_name("FILE");
  c.add_option("--tls-key", f->tls_key, "TLS private key (PEM)")->type_name("FILE");
  c.add_option("--max-streams", f->max_streams, "Live event streams open at once (default 1000)")->type_name("N");
  return [f](const Global& g) { return rb::serve::cmd_serve(g, *f); };
}

Runner add_token(CLI::App& c) {
  auto f = flags<rb::serve::TokenFlags>();
  c.require_subcommand(1);
  auto* create = c.add_subcommand("create", "Create a token (printed once, stored hashed)");
  create->add_option("NAME", f->name, "Who uses it: the identity their answers are recorded under")->required();
  create->add_option("--role", f->role, "viewer, operator, approver, admin or hook")
      ->type_name("ROLE")
      ->required()
      ->check(CLI::IsMember({"viewer", "operator", "approver", "admin", "hook"}));
  auto* list = c.add_subcommand("list", "Tokens: name, role, created");
  auto* revoke = c.add_subcommand("revoke", "Revoke a token (its sessions end at once)");
  revoke->add_option("NAME", f->name, "The token's name")->required();
  for (auto* sub : {create, list, revoke}) sub->fallthrough();
  return [f, create, list](const Global& g) {
    f->action = *create ? "create" : *list ? "list" : "revoke";
    return rb::serve::cmd_token(g, *f);
  };
}

// describe(): the App tree as values (cli/spec.h). Hidden subcommands (group "") are left
// out; the value name comes from type_name() and a fixed set of choices from the
// IsMember check CLI11 appends to it ("FORMAT:{text,json}").
OptSpec describe_option(const CLI::Option& o) {
  OptSpec s;
  s.help = o.get_description();
  s.positional = !o.nonpositional();
  std::string type = o.get_type_name();
  if (size_t brace = type.find(":{"); brace != std::string::npos && type.back() == '}') {
    std::string list = type.substr(brace + 2, type.size() - brace - 3);
    for (size_t at = 0; at <= list.size();) {
      size_t comma = list.find(',', at);
      if (comma == std::string::npos) comma = list.size();
      s.choices.push_back(list.substr(at, comma - at));
      at = comma + 1;
    }
    type = type.substr(0, brace);
  }
  if (s.positional) {
    s.names = {o.get_name()};
    s.value = o.get_name();
  } else {
    for (auto& n : o.get_snames()) s.names.push_back("-" + n);
    for (auto& n : o.get_lnames()) s.names.push_back("--" + n);
    if (o.get_type_size_max() > 0 && o.get_expected_max() > 0) s.value = type.empty() ? "VALUE" : type;
  }
  s.required = o.get_required();
  s.optional_value = !s.flag() && o.get_expected_min() == 0;
  s.repeatable = !s.flag() && o.get_items_expected_max() > 1;
  return s;
}

CommandSpec describe(const CLI::App& app) {
  CommandSpec c;
  c.name = app.get_name();
  c.help = app.get_description();
  for (const CLI::Option* o : app.get_options()) {
    OptSpec s = describe_option(*o);
    (s.positional ? c.positionals : c.options).push_back(std::move(s));
  }
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App* a) { return !a->get_group().empty(); }))
    c.subcommands.push_back(describe(*sub));
  return c;
}

Runner add_doctor(CLI::App& c) {
  return [](const Global& g) { return cmd_doctor(g); };
}

Runner add_completion(CLI::App& c) {
  auto shell = flags<std::string>();
  c.add_option("SHELL", *shell, "The shell: bash, zsh or fish")->required()->check(CLI::IsMember({"bash", "zsh", "fish"}));
  const CLI::App* root = c.get_parent();
  return [shell, root](const Global&) {
    fmt::print("{}", completion_script(describe(*root), *shell));
    return static_cast<int>(kOk);
  };
}

// Hidden: the build writes the man pages with it (`runbook __man --dir DIR`).
Runner add_man(CLI::App& c) {
  c.group("");
  auto f = flags<std::pair<std::string, std::string>>();  // page, dir
  c.add_option("COMMAND", f->first, "Print this subcommand's page (default: runbook(1))");
  c.add_option("--dir", f->second, "Write every page into DIR")->type_name("DIR");
  const CLI::App* root = c.get_parent();
  return [f, root](const Global&) { return cmd_man(describe(*root), f->first, f->second); };
}

struct Command {
  const char* name;
  const char* help;
  Runner (*add)(CLI::App&);
};

const Command kCommands[] = {
    {"validate", "Check runbook files; print FILE:LINE:COL: message for each problem", add_validate},
    {"plan", "Show the steps, budgets, transitions and the critical path against the RTO", add_plan},
    {"run", "Run a runbook: steps, gates, approvals, the RTO clock, a durable timeline", add_run},
    {"resume", "Continue a run whose engine died or that was interrupted", add_resume},
    {"abort", "Give a run up: rollbacks newest-first (unless --no-rollback), the run ends aborted", add_abort},
    {"approve", "Answer a waiting approval or manual step, from any terminal that reaches the store", add_approve},
    {"runs", "List runs: id, incident, runbook, status, started, duration, RTO met", add_runs},
    {"status", "Where a run is now, and its RTO clock", add_status},
    {"timeline", "A run's timeline, event by event", add_timeline},
    {"note", "Add a note to a run's timeline (tags feed the incident report)", add_note},
    {"export", "Write a run's incident report: markdown, json, html (with a timeline chart) or junit", add_export},
    {"drill", "Game days: scheduled drills of runbooks, scored against their RTO", add_drill},
    {"k8s", "Kubernetes manifests that deploy as they are: runbook serve (k8s serve), drills (k8s drills)", add_k8s},
    {"import", "Turn a Markdown runbook into YAML drafts that validate; prints what a person must finish", add_import},
    {"serve", "The incident room in a browser: runs, approvals, notes, live timelines; alerts start runbooks",
     add_serve},
    {"token", "API tokens of runbook serve: create (printed once), list, revoke", add_token},
    {"doctor", "Check what runs need here: the store, the shipped plugins, ssh, time zone data; say what to fix",
     add_doctor},
    {"completion", "Print the shell completion script for bash, zsh or fish", add_completion},
    {"__man", "Print a man page (roff)", add_man},
};

// The subcommands a person may type at this level (`__man` is for the build).
std::vector<CLI::App*> commands_of(CLI::App& at) {
  auto subs = at.get_subcommands([](CLI::App*) { return true; });
  std::erase_if(subs, [](CLI::App* s) { return s->get_name().starts_with("__"); });
  return subs;
}

// The command words of the arguments, checked before CLI11 parses them: CLI11 answers an
// unknown or a missing command with "A subcommand is required", which names neither the
// word it did not know nor the commands there are. Returns the exit code when a command
// word is wrong or missing; nullopt lets CLI11 go on (and report anything else).
std::optional<int> check_command_words(CLI::App& app, const std::vector<std::string>& args) {
  CLI::App* cur = &app;
  std::string path = "runbook";
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--" || a == "-h" || a == "--help" || a == "--version") return std::nullopt;
    if (a.size() > 1 && a[0] == '-') {
      // An option of this level or one above it: skip its value when it takes one.
      if (a.find('=') == std::string::npos)
        for (CLI::App* at = cur; at; at = at->get_parent())
          if (CLI::Option* o = at->get_option_no_throw(a)) {
            if (o->get_expected_min() > 0) ++i;
            break;
          }
      continue;
    }
    auto subs = commands_of(*cur);
    if (subs.empty()) return std::nullopt;  // a leaf command's own argument
    CLI::App* next = nullptr;
    for (CLI::App* s : subs)
      if (s->get_name() == a) next = s;
    if (next == nullptr && a == "__man" && cur == &app) return std::nullopt;
    if (next == nullptr) {
      std::vector<std::string> names;
      for (CLI::App* s : subs) names.push_back(s->get_name());
      fmt::print(stderr, "{}: unknown command '{}'{}; the commands are {} (`{} --help` says what each does)\n", path, a,
                 rb::did_you_mean_suffix(a, names), fmt::join(names, ", "), path);
      return kInvalid;
    }
    cur = next;
    path += " " + a;
  }
  auto subs = commands_of(*cur);
  if (subs.empty()) return std::nullopt;
  std::vector<std::string> names;
  for (CLI::App* s : subs) names.push_back(s->get_name());
  fmt::print(stderr, "{} needs a command: {} (`{} --help` says what each does)\n", path, fmt::join(names, ", "), path);
  return kInvalid;
}

// `runbook help [COMMAND…]` is `runbook [COMMAND…] --help`.
std::vector<std::string> with_help_rewritten(std::vector<std::string> args) {
  auto first = std::find_if(args.begin(), args.end(), [](const std::string& a) { return a.empty() || a[0] != '-'; });
  if (first != args.end() && *first == "help") {
    args.erase(first);
    args.push_back("--help");
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{kIntro, "runbook"};
  app.set_version_flag("--version", fmt::format("runbook {} (commit {})", version(), build_commit()));
  app.require_subcommand(1);
  app.fallthrough();
  Global g;
  app.add_option("--store", g.store,
                 "Run store: sqlite:PATH, PATH or postgres://… (default $RUNBOOK_STORE, else .runbook/runbook.db)")
      ->type_name("URL");
  app.add_option("--plugin-path", g.plugin_path, "Directory searched for runbook-plugin-NAME executables (repeatable)")
      ->type_name("DIR");
  app.add_flag("--json", g.json, "Print JSON (one event per line for run)");
  std::vector<std::pair<CLI::App*, Runner>> subs;
  for (const Command& c : kCommands) {
    CLI::App* sub = app.add_subcommand(c.name, c.help);
    subs.emplace_back(sub, c.add(*sub));
    sub->fallthrough();
  }
  std::vector<std::string> args = with_help_rewritten({argv + 1, argv + argc});
  if (auto code = check_command_words(app, args)) return *code;
  std::vector<char*> av{argv[0]};
  for (auto& a : args) av.push_back(a.data());
  try {
    app.parse(static_cast<int>(av.size()), av.data());
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kInvalid;
  }
  // A store URL naming no known store is a usage error for every command that opens one
  // (exit 2), found before anything runs and before any file or folder is created.
  auto opens_store = [](const CLI::App* sub) {
    std::string n = sub->get_name();
    if (n == "validate" || n == "plan" || n == "import" || n == "k8s") return false;
    if (n == "drill") return !(*sub->get_subcommand("list") || *sub->get_subcommand("install"));
    return true;
  };
  for (auto& [sub, runner] : subs) {
    if (!*sub || !opens_store(sub)) continue;
    if (auto why = rb::journal::store_url_problem(rb::journal::effective_store_url(g.store))) {
      fmt::print(stderr, "runbook: {}{}\n", g.store.empty() ? "RUNBOOK_STORE: " : "--store: ", *why);
      return kInvalid;
    }
  }
  try {
    for (auto& [sub, runner] : subs)
      if (*sub) return runner(g);
  } catch (const std::exception& e) {
    fmt::print(stderr, "runbook: internal error: {}\n", e.what());
    return kEngine;
  }
  return kInvalid;
}
