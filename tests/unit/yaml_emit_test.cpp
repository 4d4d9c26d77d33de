// to_yaml (base/yaml_emit.h): what it writes reads back as the same value. Read back here by
// yaml-cpp (YAML 1.2); tests/exec/test_k8s_install.py reads whole manifests back with PyYAML
// (YAML 1.1, the resolver Kubernetes' sigs.k8s.io/yaml shares) and compares the files a
// ConfigMap carries byte for byte.
#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "base/yaml_emit.h"

using namespace rb;

namespace {

bool is_int(const std::string& s) {
  if (s.empty()) return false;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

// yaml-cpp leaves typing to the caller: a plain scalar is resolved the YAML 1.2 core way
// (and any YAML 1.1 boolean word counts as "not a string": the emitter must quote those).
Value back(const YAML::Node& n) {
  if (n.IsMap()) {
    Value v = Value::object();
    for (auto it = n.begin(); it != n.end(); ++it) v[it->first.as<std::string>()] = back(it->second);
    return v;
  }
  if (n.IsSequence()) {
    Value v = Value::array();
    for (auto it = n.begin(); it != n.end(); ++it) v.push_back(back(*it));
    return v;
  }
  if (n.IsNull()) return nullptr;
  std::string s = n.Scalar();
  if (n.Tag() == "?") {  // plain
    if (s == "true") return true;
    if (s == "false") return false;
    if (s == "null") return nullptr;
    if (is_int(s)) return std::stoll(s);
    for (const char* w : {"yes", "no", "on", "off", "y", "n", "Yes", "NO", "On", "OFF", "True", "NULL", "~"})
      if (s == w) return Value::array({"AMBIGUOUS PLAIN", s});
  }
  return s;
}

Value round_trip(const Value& v) { return back(YAML::Load(to_yaml(v))); }

const std::vector<std::string> kHard = {
    "", "yes", "No", "on", "OFF", "y", "N", "null", "~", "true", "False", "1", "0444", "-1", "1e3", "12:30", ".5",
    ".inf", "0x1F", "1_000", "+1", "-dash", "--drills", "a: b", "a:b", "#x", "a #b", "key:", "?q", "{a}", "[b]",
    "*alias", "&anchor", "!tag", "%dir", "@at", "`back", "|pipe", ">gt", "'single", "\"double", " lead space",
    "trail space ", "x\ny", "x\n", "x\n\n", "x\n\n\n", "\nlead", "\n", "\n\n", "  indented\nline\n", "\ttab\n",
    "tab\tinside", "quote\"back\\slash", "ctrl\x01", "del\x7f", "cr\r\nlf\n", "nel\xC2\x85" "x", "c1\xC2\x9B",
    "ls\xE2\x80\xA8" "x\n", "bom\xEF\xBB\xBF", "\xEF\xBF\xBE", "émoji 🎉", "multi 🎉\nline\n", "trailing space \nx\n",
    "---\n...\n", "- item\n- two\n", "a\n  b\n    c\n", "# comment\nkey: v\n", "%YAML 1.1\n", "/etc/runbook",
    "app.kubernetes.io/name", "runbook-drill-x", "100m", "512Mi", "0.0.0.0:8088", "a\n \n  \nb\n", "   \n"};

}  // namespace

TEST_CASE("YamlEmitTest.EveryHardStringReadsBackAsItself") {
  for (auto& s : kHard) {
    Value v = Value::object();
    v["value"] = s;
    v["list"] = Value::array({s});
    v[s.empty() ? std::string("empty") : s] = "as a key";
    INFO("string: ", Value(s).dump(), "\nyaml:\n", to_yaml(v));
    CHECK(round_trip(v) == v);
  }
}

TEST_CASE("YamlEmitTest.NestedShapesNumbersAndEmptyContainers") {
  Value v = Value::parse(R"({"apiVersion":"batch/v1","n":0,"neg":-7,"big":21600,"t":true,"f":false,"z":null,
    "empty_map":{},"empty_list":[],"list":[{"a":1,"b":[1,2,[3,[]]]},{},[],"x",{"c":{"d":{"e":"deep\ntext\n"}}}],
    "map":{"x":[{"y":[{"z":"w"}]}]}})");
  INFO(to_yaml(v));
  CHECK(round_trip(v) == v);
}

TEST_CASE("YamlEmitTest.PlainOnlyWhenNothingElseCanBeRead") {
  CHECK(yaml_scalar(Value("runbook-drill-x")) == "runbook-drill-x");
  CHECK(yaml_scalar(Value("/etc/runbook")) == "/etc/runbook");
  CHECK(yaml_scalar(Value("yes")) == "\"yes\"");
  CHECK(yaml_scalar(Value("On")) == "\"On\"");
  CHECK(yaml_scalar(Value("100m")) == "\"100m\"");
  CHECK(yaml_scalar(Value("a\nb")) == "\"a\\nb\"");
  CHECK(yaml_scalar(Value("ls\xE2\x80\xA8")) == "\"ls\\u2028\"");
  CHECK(yaml_scalar(Value("\x01")) == "\"\\x01\"");
  CHECK(yaml_scalar(Value(292)) == "292");
}

TEST_CASE("YamlEmitTest.TextBecomesALiteralBlockWithTheRightChomping") {
  auto field = [](const std::string& s) {
    Value v = Value::object();
    v["f"] = s;
    return to_yaml(v);
  };
  CHECK(field("a\nb\n") == "f: |\n  a\n  b\n");
  CHECK(field("a\nb") == "f: |-\n  a\n  b\n");
  CHECK(field("a\n\n") == "f: |+\n  a\n\n");
  CHECK(field("  a\nb\n") == "f: |2\n    a\n  b\n");
  CHECK(field("a\r\nb\n") == "f: \"a\\r\\nb\\n\"\n");  // CR: a block would lose it
}
