// Fleet targets without a network: inventories (INI, YAML), host patterns, the
// scheduling plan (concurrency, max_errors, canary), and what goes on ssh's command line
// versus its stdin. The real transport is proven against real sshd's in
// tests/exec/test_fleet.py.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "shell/fleet.h"
#include "shell/inventory.h"
#include "shell/ssh.h"
#include "shell/targets.h"

using namespace rb;
using namespace rb::plugins::fleet;

namespace {

std::string temp_file(const std::string& name, const std::string& text) {
  std::string dir = "/tmp/rb-fleet-test-" + std::to_string(::getpid());
  ::mkdir(dir.c_str(), 0700);
  std::string p = dir + "/" + name;
  std::ofstream(p) << text;
  return p;
}

Inventory load(const std::string& name, const std::string& text, Diagnostics* d = nullptr) {
  Inventory inv;
  Diagnostics local;
  std::string unreadable;
  bool ok = load_inventory(temp_file(name, text), &inv, d ? *d : local, &unreadable);
  if (!d) REQUIRE_MESSAGE(ok, (local.list().empty() ? unreadable : local.list()[0].format()));
  return inv;
}

const char* kIni = R"(# a comment
bastion ansible_host=10.0.0.1

[api]
api-[1:3] ansible_user=deploy
api-7:2222   # port in the name

[db]
db-[a:b].example.com

[region-1]
api-1
db-a.example.com

[prod:children]
api
db

[prod:vars]
ansible_user=ops
env = "production"

[api:vars]
ansible_ssh_common_args='-o ProxyJump=bastion'
)";

std::string names(const std::optional<std::vector<std::string>>& v) {
  std::string out;
  for (auto& n : v.value_or(std::vector<std::string>{})) out += (out.empty() ? "" : ",") + n;
  return out;
}

std::string select(const Inventory& inv, const std::string& p, PatternError* e = nullptr) {
  PatternError local;
  return names(select_hosts(inv, {p}, e ? e : &local));
}

}  // namespace

TEST_CASE("FleetInventory.IniGroupsChildrenRangesAndVars") {
  Inventory inv = load("inv.ini", kIni);
  CHECK(names(inv.host_order()) == "bastion,api-1,api-2,api-3,api-7,db-a.example.com,db-b.example.com");
  CHECK(names(inv.members("prod")) == "api-1,api-2,api-3,api-7,db-a.example.com,db-b.example.com");
  CHECK(names(inv.members("ungrouped")) == "bastion");
  auto v = inv.vars_of("api-2");
  CHECK(v["ansible_user"] == "deploy");  // host vars beat group vars
  CHECK(v["env"] == "production");       // quotes of a vars line removed
  CHECK(v["ansible_ssh_common_args"] == "-o ProxyJump=bastion");
  CHECK(inv.vars_of("api-7")["ansible_port"] == "2222");
  CHECK(inv.vars_of("api-7")["ansible_user"] == "ops");  // api is a child of prod: its vars come later
  CHECK(inv.vars_of("bastion")["ansible_host"] == "10.0.0.1");
}

TEST_CASE("FleetInventory.YamlSameModel") {
  Inventory inv = load("inv.yaml", R"(all:
  vars: {ansible_user: root}
  hosts:
    solo:
  children:
    web:
      hosts:
        web[01:03]: {ansible_port: 2200}
      vars: {tier: front}
      children:
        canaries:
          hosts: {web01: }
)");
  CHECK(names(inv.host_order()) == "solo,web01,web02,web03");
  CHECK(names(inv.members("web")) == "web01,web02,web03");
  CHECK(inv.vars_of("web02")["ansible_port"] == "2200");
  CHECK(inv.vars_of("web02")["ansible_user"] == "root");
  CHECK(inv.vars_of("web02")["tier"] == "front");
  CHECK(select(inv, "canaries") == "web01");
}

TEST_CASE("FleetInventory.MalformedIsPositioned") {
  Diagnostics d;
  load("bad.ini", "[web]\nh1 ansible_port\n[web:kids]\nh2 'open\n", &d);
  REQUIRE(d.list().size() == 3);
  CHECK(d.list()[0].format().find("bad.ini:2:4: 'ansible_port' after host 'h1' must be a variable") != std::string::npos);
  CHECK(d.list()[1].format().find("bad.ini:3:6: section kind 'kids'") != std::string::npos);
  CHECK(d.list()[2].format().find("bad.ini:4:1: unterminated quote") != std::string::npos);

  Diagnostics y;
  load("bad.yaml", "all:\n  hostz: {a: }\n", &y);
  REQUIRE(y.list().size() == 1);
  CHECK(y.list()[0].format().find("bad.yaml:2:3: unknown key 'hostz' in group 'all'") != std::string::npos);

  Inventory inv;
  Diagnostics none;
  std::string unreadable;
  CHECK_FALSE(load_inventory("/nonexistent/inv.ini", &inv, none, &unreadable));
  CHECK(unreadable.find("No such file or directory") != std::string::npos);
  CHECK(none.list().empty());
}

TEST_CASE("FleetPattern.AnsibleOperators") {
  Inventory inv = load("inv.ini", kIni);
  CHECK(select(inv, "api:&region-1") == "api-1");
  CHECK(select(inv, "prod:!api-7:!db") == "api-1,api-2,api-3");
  CHECK(select(inv, "!api:&prod") == "db-a.example.com,db-b.example.com");  // only &/!: from every host
  CHECK(select(inv, "db,bastion") == "bastion,db-a.example.com,db-b.example.com");  // inventory order
  CHECK(select(inv, "api-*") == "api-1,api-2,api-3,api-7");
  CHECK(select(inv, "~db-[ab]\\.example") == "db-a.example.com,db-b.example.com");
  CHECK(select(inv, "~api-[12]") == "api-1,api-2");  // a regex ending in a class, not a subscript
  CHECK(select(inv, "~api-[37]") == "api-3,api-7");
  CHECK(select(inv, "api[0]") == "api-1");
  CHECK(select(inv, "api[-1]") == "api-7");
  CHECK(select(inv, "api[1:3]") == "api-2,api-3");
  CHECK(select(inv, "all") == select(inv, "*"));
  PatternError e;
  CHECK(names(select_hosts(inv, {"api", "&region-1"}, &e)) == "api-1");  // a list: its terms together
}

TEST_CASE("FleetPattern.NothingSelectedIsAnErrorNeverAll") {
  Inventory inv = load("inv.ini", kIni);
  PatternError e;
  CHECK(select(inv, "api:&nosuch", &e).empty());
  CHECK(e.message.find("'nosuch' is neither a group nor a host") != std::string::npos);
  CHECK(e.offset == 4);
  CHECK(select(inv, "prod:!apj-7", &e).empty());  // a typo in an exclusion is not silently ignored
  CHECK(e.message.find("did you mean 'api-7'") != std::string::npos);
  CHECK(select(inv, "api:&db", &e).empty());
  CHECK(e.message.find("selects no host") != std::string::npos);
  CHECK(select(inv, "web*", &e).empty());
  CHECK(select(inv, "api:", &e).empty());
  CHECK(e.message.find("empty term") != std::string::npos);
}

TEST_CASE("FleetPlan.ConcurrencyWindow") {
  FleetPlan p(5, 2, 0, 0);
  CHECK(p.next() == 0u);
  CHECK(p.next() == 1u);
  CHECK_FALSE(p.next());
  p.done(0, true);
  CHECK(p.next() == 2u);
  CHECK_FALSE(p.next());
  p.done(1, true);
  p.done(2, true);
  CHECK(p.next() == 3u);
  CHECK(p.next() == 4u);
  p.done(3, true);
  p.done(4, true);
  CHECK(p.finished());
  CHECK(p.ok());
}

TEST_CASE("FleetPlan.MaxErrorsStopsNewStartsAfterTheLimit") {
  FleetPlan p(10, 1, 2, 0);
  for (size_t i = 0; i < 3; ++i) {
    REQUIRE(p.next() == i);
    p.done(i, false);
  }
  CHECK(p.halted());
  CHECK_FALSE(p.next());
  CHECK(p.started() == 3u);
  CHECK(p.finished());
  CHECK_FALSE(p.ok());
  CHECK(p.why().find("3 hosts failed, more than max_errors (2)") != std::string::npos);

  FleetPlan within(4, 4, 2, 0);
  for (int i = 0; i < 4; ++i) within.next();
  within.done(0, false);
  within.done(1, false);
  within.done(2, true);
  within.done(3, true);
  CHECK(within.ok());  // two failures are tolerated
}

TEST_CASE("FleetPlan.CanaryFirstAloneThenTheRest") {
  FleetPlan p(6, 4, 5, 2);
  CHECK(p.next() == 0u);
  CHECK(p.next() == 1u);
  CHECK_FALSE(p.next());  // the canaries run alone
  p.done(0, true);
  CHECK_FALSE(p.next());  // until both are done
  p.done(1, true);
  CHECK(p.next() == 2u);
  CHECK(p.next() == 3u);

  FleetPlan bad(6, 4, 5, 1);
  REQUIRE(bad.next() == 0u);
  bad.done(0, false);
  CHECK_FALSE(bad.next());  // a failed canary: nothing else starts, whatever max_errors says
  CHECK(bad.finished());
  CHECK_FALSE(bad.ok());
  CHECK(bad.why() == "a canary host failed");
}

TEST_CASE("FleetTargets.CountsAndDefaults") {
  std::string err, key;
  auto t = parse_targets(Value::parse(R"({"inventory": "i.ini", "hosts": "web", "max_concurrency": "25%",
                                          "max_errors": 1, "canary": "10%"})"),
                         &err, &key);
  REQUIRE(t);
  CHECK(t->max_concurrency->of(50, 1) == 12);
  CHECK(t->max_concurrency->of(2, 1) == 1);  // never 0
  CHECK(t->max_errors->of(50, 0) == 1);
  CHECK(t->canary->of(5, 1) == 1);
  CHECK_FALSE(parse_targets(Value::parse(R"({"inventory": "i.ini", "hosts": ""})"), &err, &key));
  CHECK(key == "hosts");
  CHECK_FALSE(parse_targets(Value::parse(R"({"inventory": "i.ini", "hosts": "a", "max_errors": "120%"})"), &err, &key));
  CHECK(key == "max_errors");
  CHECK_FALSE(parse_targets(Value::parse(R"({"inventory": "i.ini", "hosts": []})"), &err, &key));
}

TEST_CASE("FleetSsh.ValuesTravelOnStdinNeverOnTheCommandLine") {
  std::string hostile = "'; touch /tmp/pwned; echo '$(id)`id`\"";
  RemoteJob job;
  job.script = "echo \"$RB_ARG_1\"";
  job.env = {{"RB_ARG_1", hostile}, {"SECRET", "s3cr3t-value"}, {"bad name", "x"}};
  job.stdin_data = "input";
  std::string p = payload(job);
  CHECK(p.starts_with("RB2 "));
  CHECK(p.find("export RB_ARG_1=''\\''; touch /tmp/pwned; echo '\\''$(id)`id`\"'\n") != std::string::npos);
  CHECK(p.find("bad name") == std::string::npos);  // not a variable name: not sent
  CHECK(p.ends_with("\ninputRB2-END\n"));

  FleetHost h{"web-1", "10.0.0.5", "2222", "deploy", "", {"-o", "ProxyJump=bastion"}};
  SshSettings s;
  s.config = "cfg";
  auto argv = ssh_argv(h, s, "/tmp/ctl", "/work");
  std::string line;
  for (auto& a : argv) line += a + "\n";
  CHECK(line.find("s3cr3t") == std::string::npos);
  CHECK(line.find("pwned") == std::string::npos);
  CHECK(line.find("BatchMode=yes\n") < line.find("ProxyJump"));  // ours first: they win
  CHECK(line.find("StrictHostKeyChecking=yes\n") != std::string::npos);
  CHECK(line.find("ControlPath=/tmp/ctl/") != std::string::npos);
  CHECK(line.find("-%C\n") != std::string::npos);
  SshSettings other = s;
  other.known_hosts = "elsewhere";
  auto argv2 = ssh_argv(h, other, "/tmp/ctl", "/work");
  auto control = [](const std::vector<std::string>& v) {
    for (auto& a : v)
      if (a.starts_with("ControlPath=")) return a;
    return std::string();
  };
  CHECK(control(argv) != control(argv2));  // other settings: never the same connection
  CHECK(line.find("-F\n/work/cfg\n") != std::string::npos);
  CHECK(line.find("-p\n2222\n-l\ndeploy\n") != std::string::npos);
  CHECK(argv[argv.size() - 3] == "--");
  CHECK(argv[argv.size() - 2] == "10.0.0.5");
  CHECK(argv.back() == remote_command());
  CHECK(remote_command().find('\'', 18) == remote_command().size() - 1);  // one quoted word
}

TEST_CASE("FleetSsh.FailuresReadClearly") {
  CHECK(ssh_failure(255, "@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n@@@@\nHost key verification failed.\n",
                    "10.0.0.5")
            .find("does not match known_hosts") != std::string::npos);
  CHECK(ssh_failure(255, "ssh: connect to host 10.0.0.5 port 22: Connection refused\n", "10.0.0.5")
            .starts_with("cannot connect to 10.0.0.5"));
  CHECK(ssh_failure(255, "Shared connection to 10.0.0.5 closed.\n", "10.0.0.5").starts_with("connection to 10.0.0.5 lost"));
  CHECK(ssh_failure(255, "", "10.0.0.5").starts_with("connection to 10.0.0.5 lost"));
  CHECK(ssh_failure(255, "oops\nrunbook: the command exited with 255\n", "10.0.0.5").empty());  // the script's 255
  CHECK(ssh_failure(1, "Host key verification failed.\n", "x").empty());  // the script's own exit code and words
}
