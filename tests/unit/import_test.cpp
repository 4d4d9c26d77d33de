// runbook import: the scanners, the block classifier, YAML quoting that reads back as the
// same text, and the structure of small documents (the seeds are in tests/exec/test_import.py).
#include <doctest/doctest.h>

#include "import/classify.h"
#include "import/import.h"
#include "import/scan.h"
#include "yaml/node.h"

using namespace rb;
using namespace rb::import;
using namespace std::chrono_literals;

TEST_CASE("ImportScan.DurationsInThePeoplesForms") {
  CHECK(read_duration("2 minutes") == Millis(2min));
  CHECK(read_duration("15-30 minutes") == Millis(30min));
  CHECK(read_duration("~5 min") == Millis(5min));
  CHECK(read_duration("1 hr 30 mins") == Millis(90min));
  CHECK(read_duration("2.5 hrs") == Millis(150min));
  CHECK(read_duration("2h") == Millis(2h));
  CHECK(read_duration("15min") == Millis(15min));
  CHECK(read_duration("1h30m") == Millis(90min));
  CHECK(read_duration("0min") == Millis(0));
  CHECK(read_duration("< 15 minutes") == Millis(15min));
  CHECK_FALSE(read_duration("Varies"));
  CHECK_FALSE(read_duration("N/A"));
  CHECK_FALSE(read_duration("2024-11-28"));
  CHECK_FALSE(read_duration("30"));
  CHECK_FALSE(read_duration("99999999999 hours"));
  CHECK(find_duration("Wait 15-30 minutes then") == Millis(30min));
}

TEST_CASE("ImportScan.TitlesGiveBudgetsMilestonesAndConditions") {
  Title t = parse_title("**Step 1: STOP THE BLEEDING (2 minutes)**");
  CHECK(t.text == "Stop the bleeding");
  CHECK(t.budget == Millis(2min));
  CHECK(t.number == 1);
  CHECK(t.step_word);
  CHECK(parse_title("Step 8: POST-MORTEM (1 hour - within 24h)").budget == Millis(1h));
  CHECK(parse_title("Step 5: RESTORE FROM BACKUP (15-30 minutes)").budget == Millis(30min));
  Title m = parse_title("Step 2: Database Failover (T+15 mins)");
  CHECK(m.milestone == Millis(15min));
  CHECK_FALSE(m.budget);
  CHECK(m.text == "Database Failover");
  CHECK(parse_title("Step 1: Detection (T+0)").milestone == Millis(0));
  CHECK(parse_title("Step 5: CLEAR STUCK JOBS (if needed)").conditional);
  CHECK(parse_title("REFUND IF NEEDED").conditional);
  CHECK(parse_title("Check API health ~5 min").budget == Millis(5min));
  CHECK(parse_title("CHECK API HEALTH").text == "Check API health");
  CHECK(parse_title("3. Restore from Backup").number == 3);
  // An emoji, also one mangled through Mac Roman, is not part of the title.
  CHECK(clean_title("\xF0\x9F\x94\xB4 SCENARIO 1") == "Scenario 1");
  CHECK(clean_title("\xEF\xA3\xBF\xC3\xBC\xC3\xAE\xC2\xA5 DATABASE") == "Database");
  CHECK(clean_title("\xD0\xA8\xD0\xB0\xD0\xB3 1") == "\xD0\xA8\xD0\xB0\xD0\xB3 1");  // Cyrillic stays
}

TEST_CASE("ImportScan.ScenarioNamesIdsAndObjectives") {
  CHECK(scenario_name("\xF0\x9F\x94\xB4 SCENARIO 1: DATABASE DISASTER") == std::optional<std::string>("DATABASE DISASTER"));
  CHECK(scenario_name("Scenario 2 - Worker crash") == std::optional<std::string>("Worker crash"));
  CHECK_FALSE(scenario_name("Common Recovery Scenarios"));
  CHECK(slug("Stop the bleeding") == "stop-the-bleeding");
  CHECK(slug("Monitor the `dead-jobs` Collection") == "monitor-the-dead-jobs-collection");
  CHECK(slug("!!!") == "step");
  CHECK(slug(std::string(100, 'a') + " b", 40).size() <= 40);
  CHECK(objective_in("SLA: RTO: 2 hours, RPO: 15 minutes", "RTO") == Millis(2h));
  CHECK(objective_in("SLA: RTO: 2 hours, RPO: 15 minutes", "RPO") == Millis(15min));
  CHECK(objective_in("Recovery Time Objective (RTO): 4 hours", "RTO") == Millis(4h));
  CHECK(objective_in("RPO (Recovery Point Objective) | 1 hour | exports run hourly", "RPO") == Millis(1h));
  CHECK(objective_in("RTO 2h", "RTO") == Millis(2h));
  CHECK_FALSE(objective_in("~1-2 hours (RTO target met)", "RTO"));
  CHECK_FALSE(objective_in("Review and update RTO/RPO targets", "RTO"));
  CHECK_FALSE(objective_in("PROTO: 5 minutes", "RTO"));
}

TEST_CASE("ImportClassify.PlaceholdersAreFoundAndShellSyntaxIsNot") {
  for (const char* p : {"open https://x/[PROJECT-REF]", "--target <PROJECT_ID>", "gs://<BUCKET>/<EXPORT_PATH>",
                        "export KEY=YOUR-API-KEY", "curl -H 'X: ...'", "git commit -m \"fix: [description]\"",
                        "echo CHANGEME", "echo ${{ secrets.TOKEN }}", "backup_YYYYMMDD.sql"})
    CHECK_MESSAGE(find_placeholder(p), std::string(p));
  for (const char* ok : {"[ -f x ] && echo y", "psql -d fuse < backup.sql", "echo ${HOME} $(date +%Y%m%d)",
                         "echo ${arr[0]}", "[[ -z \"$x\" ]]", "cat <<EOF > f", "ls ../..", "grep -E '[0-9]+'"})
    CHECK_MESSAGE(!find_placeholder(ok), std::string(ok));
}

TEST_CASE("ImportClassify.BlocksBecomeActionsOnlyWhenRunningThemIsRight") {
  using K = BlockAction::Kind;
  auto a = classify_block("bash", "# Clear all caches\nredis-cli FLUSHDB\n", 10);
  CHECK(a.kind == K::Shell);
  CHECK(a.text == "# Clear all caches\nredis-cli FLUSHDB");
  a = classify_block("bash", "supabase db dump --project-ref [PROJECT-REF]\n", 10);
  CHECK(a.kind == K::Manual);
  CHECK(a.why == "holds the placeholder '[PROJECT-REF]' (line 10)");
  CHECK(classify_block("bash", "# Railway:\nrailway restart\n# OR manual:\nnpm start\n", 1).why.find("alternatives") !=
        std::string::npos);
  CHECK(classify_block("bash", "# 1. Login to Supabase Dashboard\nopen https://x\n", 1).kind == K::Manual);
  CHECK(classify_block("bash", "# Edit src/middleware.ts:\nconst M = true;\n", 1).kind == K::Manual);
  CHECK(classify_block("bash", "SELECT * FROM t;\n", 1).why.find("SQL inside a shell block") != std::string::npos);
  CHECK(classify_block("bash", "vercel logs --follow\n", 1).why.find("runs until stopped") != std::string::npos);
  CHECK(classify_block("bash", "# Check\nbrew status\n# Restart if needed\nbrew restart\n", 1).kind == K::Manual);
  CHECK(classify_block("bash", "# only comments\n# here\n", 1).kind == K::Manual);
  CHECK(classify_block("typescript", "const x = 1;\n", 1).kind == K::Manual);
  CHECK(classify_block("", "How you'll know:\n- alerts\n", 1).kind == K::Manual);
  CHECK(classify_block("bash", "echo '${{ inputs.x }}'\n", 1).kind == K::Manual);

  a = classify_block("bash", "# If the cache is stale:\nredis-cli DEL k\n", 1);
  CHECK(a.kind == K::Shell);
  CHECK(a.conditional);

  a = classify_block("bash", "curl https://x.example.org/health\n# Expected: 200\n", 3);
  REQUIRE(a.kind == K::Http);
  REQUIRE(a.http.size() == 1);
  CHECK(a.http[0].url == "https://x.example.org/health");
  CHECK(a.http[0].expect == "result.status == 200");
  a = classify_block("sh", "curl -s https://x.example.org\n# Should show maintenance page\n", 3);
  CHECK(a.http[0].expect == "matches(result.body, '[Mm]aintenance')");
  CHECK(classify_block("bash", "curl https://x.example.org | jq .\n", 1).kind == K::Shell);

  a = classify_block("sql", "-- count\nSELECT count(*) FROM users;\n", 1);
  CHECK(a.kind == K::Sql);
  CHECK(a.statements == 1);
  CHECK(a.read_only);
  a = classify_block("sql", "SELECT 1;\nSELECT 'a;b' FROM t; -- x\n", 1);
  CHECK(a.statements == 2);
  CHECK(a.read_only);
  a = classify_block("sql", "CREATE TABLE b AS SELECT * FROM t;\nUPDATE t SET x = 1;\n", 1);
  CHECK(a.statements == 2);
  CHECK_FALSE(a.read_only);
}

namespace {

// Emits `s` as the value of key `k` (nested two deep, as in a draft) and reads it back
// with the engine's own loader.
std::string round_trip(const std::string& s) {
  std::string doc = "a:\n  b:\n    k: " + yaml_scalar(s, 6) + "\n    after: x\n";
  Diagnostics d("t.yaml");
  yaml::Node root;
  bool ok = yaml::load_string(doc, root, d);
  if (!ok) return "<load failed: " + (d.list().empty() ? std::string() : d.list()[0].message) + "> " + doc;
  const yaml::Node* k = root.get("a")->get("b")->get("k");
  if (root.get("a")->get("b")->get("after")->scalar != "x") return "<lost the next key>";
  return k ? k->scalar : "<missing>";
}

}  // namespace

TEST_CASE("ImportYaml.EveryStringReadsBackAsTheSameText") {
  const std::vector<std::string> nasty = {
      "plain words", "key: value", "a # comment", "\"quoted\"", "'single'", "true", "no", "null", "~", "123",
      "1.5", "0x1F", "- item", "? key", "[a, b]", "{a: b}", "&anchor", "*alias", "!tag", "|", ">", "%directive",
      "@at", "`tick`", " leading", "trailing ", "tab\there", "back\\slash", "ctl\x01\x1f\x7f", "nel\xC2\x85x",
      "ls\xE2\x80\xA8x", "bom\xEF\xBB\xBFx", "caf\xC3\xA9 \xF0\x9F\x94\xB4", "---", "...", "line1\nline2",
      "  indented first\nsecond", "\nleading newline", "trailing newline\n", "x\n\n\ny", "a  \nb", "tab\n\tindent",
      "# only\n- a list\n: colon", "cd /tmp/x\\ \ny"};
  for (auto& s : nasty) CHECK_MESSAGE(round_trip(s) == s, s);
  // A template of another tool is never one of ours.
  CHECK(round_trip("echo ${{ secrets.X }}") == "echo $ {{ secrets.X }}");
  CHECK(round_trip("a\n${{ x }}\nb") == "a\n$ {{ x }}\nb");
  CHECK(yaml_scalar("x\ny", 4) == "|-\n    x\n    y");
}

TEST_CASE("ImportStructure.NoStepsIsAnErrorAndScenariosSplit") {
  ImportResult r;
  std::string err;
  CHECK_FALSE(import_markdown("a.md", "# Title\n\nJust prose.\n\n- a bullet\n", &r, &err));
  CHECK(err.find("no steps found") != std::string::npos);

  r = {};
  std::string doc =
      "# Doc\n\nRTO: 1h\n\n## Scenario 1: Disk full\n\n### Step 1: Free space (5 minutes)\n```bash\nrm -rf /tmp/cache\n```\n"
      "### Step 2: Check (~2 min)\n```bash\ndf -h /\n```\n\n## Scenario 2: Bad deploy\n\n1. Roll back\n2. Tell <team>\n";
  REQUIRE(import_markdown("d.md", doc, &r, &err));
  REQUIRE(r.drafts.size() == 2);
  const Draft& a = r.drafts[0];
  CHECK(a.id == "disk-full");
  CHECK(a.rto == Millis(1h));
  REQUIRE(a.steps.size() == 2);
  CHECK(a.steps[0].id == "free-space");
  CHECK(a.steps[0].kind == DraftStep::Kind::Shell);
  CHECK(a.steps[0].budget == Millis(5min));
  CHECK(a.steps[0].description == "d.md:7");
  CHECK(a.steps[0].next == "check");
  CHECK(a.steps[1].next == "recovered");
  CHECK(r.drafts[1].steps.size() == 2);
  CHECK(r.drafts[1].steps[1].kind == DraftStep::Kind::Manual);
  std::string y = draft_yaml(a);
  CHECK(y.find("  recovered:\n    title: Recovered\n    end: recovered\n") != std::string::npos);
  CHECK(y.find("    end: failed\n") != std::string::npos);
}

TEST_CASE("ImportStructure.IdsAreUniqueAndConditionalStepsAreGated") {
  ImportResult r;
  std::string err;
  std::string doc = "# Ops\n\n1. Restart\n   ```bash\n   systemctl restart a\n   ```\n2. Restart\n   ```bash\n"
                    "   systemctl restart b\n   ```\n3. Failed\n   ```bash\n   # If it is stuck:\n   systemctl restart c\n   ```\n";
  REQUIRE(import_markdown("o.md", doc, &r, &err));
  REQUIRE(r.drafts.size() == 1);
  auto& st = r.drafts[0].steps;
  REQUIRE(st.size() == 4);
  CHECK(st[0].id == "restart");
  CHECK(st[1].id == "restart-2");
  CHECK(st[2].kind == DraftStep::Kind::Approval);
  CHECK(st[2].next == st[3].id);
  CHECK(st[2].on_reject == "recovered");
  CHECK(st[3].id == "failed-2");  // "failed" is the end step's
}
