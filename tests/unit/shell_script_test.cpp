// The shell lexer that decides where a `${{ }}` may stand (plugins/shell/script.h).
#include <doctest/doctest.h>

#include "shell/script.h"

using namespace rb::plugins;
using shell::Place;

namespace {

std::vector<Place> places(const std::string& cmd) {
  auto a = shell::analyze(cmd);
  REQUIRE_MESSAGE(!a.error, cmd);
  std::vector<Place> out;
  for (auto& i : a.interps) out.push_back(i.place);
  return out;
}

Place place(const std::string& cmd) {
  auto p = places(cmd);
  REQUIRE_MESSAGE(p.size() == 1, cmd);
  return p[0];
}

}  // namespace

TEST_CASE("ShellScriptTest.WordsAndDoubleQuotesAreData") {
  CHECK(place("echo ${{ inputs.x }}") == Place::Word);
  CHECK(place("echo \"a${{ inputs.x }}b\"") == Place::DoubleQuoted);
  CHECK(place("X=${{ inputs.x }} env") == Place::Word);
  CHECK(place("ls -d ${{ inputs.f }} > \"$OUT\"") == Place::Word);
  CHECK(place("cat < ${{ inputs.f }}") == Place::Word);
  CHECK(place("( cd /tmp && echo ${{ inputs.x }} )") == Place::Word);
  CHECK(places("case ${{ inputs.x }} in a) echo ${{ inputs.y }};; esac") ==
        std::vector<Place>{Place::Word, Place::Word});
  // A positional parameter of `sh -c` is data for the script's "$1".
  CHECK(place("sh -c 'echo \"$1\"' sh ${{ inputs.x }}") == Place::Word);
  // ssh's destination is an argument to ssh, not remote code.
  CHECK(place("ssh -p 22 ${{ inputs.host }} uptime") == Place::Word);
  CHECK(place("for f in ${{ inputs.x }}; do echo \"$f\"; done") == Place::Word);
}

TEST_CASE("ShellScriptTest.QuotesCommentsAndHeredocs") {
  CHECK(place("echo '${{ inputs.x }}'") == Place::SingleQuoted);
  CHECK(place("echo hi # ${{ inputs.x }}") == Place::Comment);
  // A comment holding a quote does not open a quote (the issue's probe).
  CHECK(place("# the \"primary\nls -d ${{ inputs.f }}") == Place::Word);
  CHECK(place("# don't\nls -d ${{ inputs.f }}") == Place::Word);
  CHECK(place("echo a#${{ inputs.x }}") == Place::Word);  // '#' inside a word is no comment
  CHECK(places("cat <<EOF\n${{ inputs.x }}\nEOF\necho ${{ inputs.y }}") ==
        std::vector<Place>{Place::Heredoc, Place::Word});
  CHECK(places("cat <<-'END' | sh\n\t${{ inputs.x }}\n\tEND\necho ${{ inputs.y }}") ==
        std::vector<Place>{Place::Heredoc, Place::Word});
  CHECK(place("echo \\${{ inputs.x }}") == Place::Escaped);
  CHECK(place("echo \"\\${{ inputs.x }}\"") == Place::Escaped);
  CHECK(place("echo $${{ inputs.x }}") == Place::Escaped);
  // Quotes inside the expression are the expression's, not the shell's.
  CHECK(places("echo ${{ inputs['it''s'] }} '${{ inputs.y }}' ${{ inputs.z }}") ==
        std::vector<Place>{Place::Word, Place::SingleQuoted, Place::Word});
}

TEST_CASE("ShellScriptTest.NestedCommandsAreRefused") {
  CHECK(place("echo \"$(printf '%s|' ${{ inputs.x }})\"") == Place::CommandSubst);
  CHECK(place("echo `echo ${{ inputs.x }}`") == Place::Backquote);
  CHECK(place("echo $(( ${{ inputs.n }} + 1 ))") == Place::Arithmetic);
  CHECK(place("echo ${X:-${{ inputs.x }}}") == Place::Expansion);
  CHECK(place("grep -q \"$(echo \"${{ inputs.u }}\" | sed 's|x||')\" f") == Place::CommandSubst);
  // The lexer finds the end of $( ) past quotes and case patterns holding ')'.
  CHECK(places("echo $(echo ')' ${{ inputs.x }}) ${{ inputs.y }}") ==
        std::vector<Place>{Place::CommandSubst, Place::Word});
  CHECK(places("echo $(case a in a) echo ${{ inputs.x }};; esac) ${{ inputs.y }}") ==
        std::vector<Place>{Place::CommandSubst, Place::Word});
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += "$(";
  CHECK(!shell::is_safe(place(deep + "echo ${{ inputs.x }}")));
}

TEST_CASE("ShellScriptTest.ProgramsThatReparseTheirArgument") {
  CHECK(place("sh -c \"echo ${{ inputs.x }}\"") == Place::Code);
  CHECK(place("sh -c 'echo ${{ inputs.x }}'") == Place::SingleQuoted);
  CHECK(place("bash -lc ${{ inputs.x }}") == Place::Code);
  CHECK(place("/bin/bash -e -o pipefail -c \"${{ inputs.x }}\"") == Place::Code);
  CHECK(place("eval \"echo ${{ inputs.x }}\"") == Place::Code);
  CHECK(place("eval echo ${{ inputs.x }}") == Place::Code);
  CHECK(place("ssh -i key host \"ls ${{ inputs.x }}\"") == Place::Code);
  CHECK(place("ssh host ls ${{ inputs.x }}") == Place::Code);
  CHECK(place("su - postgres -c \"psql ${{ inputs.x }}\"") == Place::Code);
  CHECK(place("sudo -u app sh -c \"echo ${{ inputs.x }}\"") == Place::Code);
  CHECK(place("find . | xargs -I{} sh -c \"echo {} ${{ inputs.x }}\"") == Place::Code);
  CHECK(place("kubectl exec -it pod -- sh -c \"echo ${{ inputs.x }}\"") == Place::Code);
  CHECK(place("timeout 5 env A=1 bash -c \"${{ inputs.x }}\"") == Place::Code);
  CHECK(place("python3 -c \"print('${{ inputs.x }}')\"") == Place::Code);
  CHECK(place("psql \"$DB\" -c \"SELECT '${{ inputs.x }}'\"") == Place::Code);
  CHECK(place("awk \"{print ${{ inputs.x }}}\" f") == Place::Code);
  CHECK(place("sed -i \"s/a/${{ inputs.x }}/\" f") == Place::Code);
  CHECK(place("watch -n 1 ls ${{ inputs.x }}") == Place::Code);
  CHECK(place("trap \"rm -f ${{ inputs.x }}\" EXIT") == Place::Code);
  CHECK(place("flock /tmp/l -c \"echo ${{ inputs.x }}\"") == Place::Code);
  // Only the same simple command: after `;` the next command is read on its own.
  CHECK(place("sh -c 'true'; echo ${{ inputs.x }}") == Place::Word);
}

TEST_CASE("ShellScriptTest.ArgvLists") {
  auto a = shell::analyze_argv({"sh", "-c", "echo ${{ inputs.x }}"});
  CHECK(a[2].interps.at(0).place == Place::Code);
  CHECK(a[2].interps.at(0).reparser == "sh -c");
  a = shell::analyze_argv({"sh", "-c", "echo \"$1\"", "sh", "${{ inputs.x }}"});
  CHECK(a[4].interps.at(0).place == Place::Word);
  a = shell::analyze_argv({"ssh", "${{ inputs.host }}", "rm -rf ${{ inputs.dir }}"});
  CHECK(a[1].interps.at(0).place == Place::Word);
  CHECK(a[2].interps.at(0).place == Place::Code);
}

TEST_CASE("ShellScriptTest.RewriteQuotesForThePlace") {
  std::string cmd = "ls -d ${{ inputs.f }} \"x${{ inputs.g }}\"";
  auto a = shell::analyze(cmd);
  CHECK(shell::rewrite(cmd, a, {"RB_ARG_1", "RB_ARG_2"}) == "ls -d \"${RB_ARG_1}\" \"x${RB_ARG_2}\"");
  auto bad = shell::analyze("sh -c \"echo ${{ inputs.target_dir }}\"");
  std::string msg = shell::refusal(bad.interps.at(0));
  CHECK(msg.find("sh -c") != std::string::npos);
  CHECK(msg.find("env:") != std::string::npos);
  CHECK(msg.find("\"$TARGET_DIR\"") != std::string::npos);
}

TEST_CASE("ShellScriptTest.MalformedTemplates") {
  CHECK(shell::analyze("echo ${{ inputs.x").error.has_value());
  CHECK(shell::analyze("echo ${{ }}").error.has_value());
  CHECK(shell::analyze("echo ${ {x} }").interps.empty());
}

TEST_CASE("ShellScriptTest.PipelinesIntoAnInterpreter") {
  CHECK(place("echo \"${{ inputs.x }}\" | sh") == Place::Code);
  CHECK(place("printf '%s' ${{ inputs.x }} | bash -s") == Place::Code);
  CHECK(place("echo ${{ inputs.x }} | sudo -u postgres psql app") == Place::Code);
  CHECK(place("echo ${{ inputs.x }} | tee f | ssh host") == Place::Code);
  CHECK(shell::analyze("echo \"${{ inputs.x }}\" | sh").interps[0].reparser == "… | sh");
  // Data stays data: a filter, a shell running a script file, a second pipeline.
  CHECK(place("echo ${{ inputs.x }} | grep sh") == Place::Word);
  CHECK(place("echo ${{ inputs.x }} | sh ./script.sh") == Place::Word);
  CHECK(place("echo ${{ inputs.x }} | psql app -c 'SELECT 1'") == Place::Word);
  CHECK(place("echo ${{ inputs.x }}; sh") == Place::Word);
  CHECK(place("echo ${{ inputs.x }} || sh") == Place::Word);
  // Which command reads the step's stdin as code.
  CHECK(shell::analyze("sh").stdin_reader == std::optional<std::string>("sh"));
  CHECK(shell::analyze("psql \"$DB\"").stdin_reader == std::optional<std::string>("psql"));
  CHECK(shell::analyze("timeout 5 python3 -").stdin_reader == std::optional<std::string>("python3"));
  CHECK(!shell::analyze("grep -q ok").stdin_reader);
  CHECK(!shell::analyze("sh -c 'cat'").stdin_reader);
  CHECK(shell::analyze("cat | sh").stdin_reader == std::optional<std::string>("sh"));
  CHECK(shell::analyze_argv({"bash", "-s"})[0].stdin_reader == std::optional<std::string>("bash"));
  CHECK(!shell::analyze_argv({"wc", "-l"})[0].stdin_reader);
}
