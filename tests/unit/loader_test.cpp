#include <doctest/doctest.h>

#include "yaml/node.h"

using namespace rb;

TEST_CASE("LoaderTest.KeepsPositionsAndQuoting") {
  Diagnostics d("x.yaml");
  yaml::Node root;
  REQUIRE(yaml::load_string("a: 1\nb:\n  - 'two'\n  - three\n", root, d));
  REQUIRE(root.is_map());
  CHECK(root.get("a")->pos == SourcePos{1, 4});
  const auto& items = root.get("b")->items;
  CHECK(items[0].quoted);
  CHECK(items[0].style == '\'');
  CHECK_FALSE(items[1].quoted);
  CHECK(items[1].pos == SourcePos{4, 5});
  long long v;
  CHECK(yaml::plain_is_int(*root.get("a"), &v));
  CHECK(v == 1);
}

TEST_CASE("LoaderTest.AliasesExpandWithinABudget") {
  Diagnostics d("x.yaml");
  yaml::Node root;
  REQUIRE(yaml::load_string("a: &x {k: v}\nb: *x\n", root, d));
  CHECK(root.get("b")->get("k")->scalar == "v");
  yaml::LoadLimits small;
  small.max_nodes = 50;
  std::string laughs = "a: &a [x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b,*b,*b,*b,*b]\n";
  CHECK_FALSE(yaml::load_string(laughs, root, d, small));
  REQUIRE(d.list().size() == 1);
  CHECK(d.list()[0].message.find("alias expansion budget") != std::string::npos);
}

TEST_CASE("LoaderTest.RejectsWhatYamlCppLetsThrough") {
  for (const char* bad : {"a: 1\na: 2\n", "a: \"open\n", "a: 1\n---\nb: 2\n", "a: 'x\n"}) {
    Diagnostics d("x.yaml");
    yaml::Node root;
    CHECK_FALSE(yaml::load_string(bad, root, d));
    CHECK(d.has_errors());
  }
}

TEST_CASE("LoaderTest.MergeKeysJoinWhereTheMapDoesNotSetTheKey") {
  Diagnostics d("x.yaml");
  yaml::Node root;
  REQUIRE(yaml::load_string("base: &b {timeout: 5s, retry: 2}\nother: &o {env: x, retry: 9}\n"
                            "step:\n  <<: [*b, *o]\n  retry: 3\n  shell: 'true'\n",
                            root, d));
  const yaml::Node* s = root.get("step");
  REQUIRE(s);
  CHECK_FALSE(s->get("<<"));
  CHECK(s->get("retry")->scalar == "3");    // the map's own key wins
  CHECK(s->get("timeout")->scalar == "5s");  // merged
  CHECK(s->get("env")->scalar == "x");       // from the second map
  CHECK(s->get("shell")->scalar == "true");
  // Only a plain `<<` merges, and only maps.
  Diagnostics d2("x.yaml");
  CHECK_FALSE(yaml::load_string("a:\n  <<: 5\n", root, d2));
  REQUIRE(d2.list().size() == 1);
  CHECK(d2.list()[0].pos == SourcePos{2, 7});
  Diagnostics d3("x.yaml");
  REQUIRE(yaml::load_string("a:\n  '<<': {k: v}\n", root, d3));
  CHECK(root.get("a")->get("<<"));
}
