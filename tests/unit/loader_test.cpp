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
