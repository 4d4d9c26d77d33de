// `runbook import FILE.md [-o OUT.yaml | -o DIR] [--force]` (contract section 9): a
// Markdown runbook → YAML drafts. Bad input (not text, too large, no steps) and refused
// output (several runbooks without a directory, an existing file without --force) are
// exit 2 with nothing written; the summary of what a person must finish goes to stderr.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>

#include "base/text.h"
#include "cli/commands.h"
#include "sys/files.h"
#include "import/import.h"

namespace rb::cli {

namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxMarkdownBytes = 8u << 20;  // a runbook is pages, not megabytes; also the YAML loader's limit

// Reads the file; on a problem prints it and returns false.
bool read_markdown(const std::string& path, std::string* text) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    return false;
  }
  struct stat st {};
  bool ok = ::fstat(fd, &st) == 0;
  if (ok && !S_ISREG(st.st_mode)) {
    error(fmt::format("{}: not a regular file", path));
    ok = false;
  } else if (ok && static_cast<size_t>(st.st_size) > kMaxMarkdownBytes) {
    error(fmt::format("{}: {} bytes is over the {} MiB a Markdown runbook may have", path, st.st_size,
                      kMaxMarkdownBytes >> 20));
    ok = false;
  }
  if (ok) {
    text->resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < text->size()) {
      ssize_t n = ::read(fd, text->data() + got, text->size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    text->resize(got);
  }
  ::close(fd);
  if (!ok) return false;
  std::string why;
  if (auto pos = find_bad_utf8(*text, &why)) {
    error(fmt::format("{}:{}:{}: not a Markdown text file: {}", path, pos->line, pos->col, why));
    return false;
  }
  return true;
}

// Writes `text` to a new file (0644: drafts hold no run data); with `force` replaces an
// existing one atomically.
bool write_file(const std::string& path, const std::string& text, bool force) {
  auto s = sys::write_file(path, text, 0644, force ? sys::Existing::Replace : sys::Existing::Refuse);
  if (!s.ok()) error(s.message());
  return s.ok();
}

std::string ids_of(const import::ImportResult& r) {
  std::string s;
  for (auto& d : r.drafts) s += (s.empty() ? "" : ", ") + d.id;
  return s;
}

// Where each draft goes ("" = stdout); false (after saying why) when the output is refused.
bool plan_outputs(const ImportFlags& f, const import::ImportResult& r, std::vector<std::string>* paths) {
  size_t n = r.drafts.size();
  if (f.out.empty()) {
    if (n > 1) {
      error(fmt::format("{} holds {} runbooks ({}): write them with -o DIR (one file each)", f.file, n, ids_of(r)));
      return false;
    }
    paths->push_back("");
    return true;
  }
  bool file_mode = !fs::is_directory(f.out) && (f.out.ends_with(".yaml") || f.out.ends_with(".yml"));
  if (file_mode && n > 1) {
    error(fmt::format("{} holds {} runbooks ({}): -o needs a directory, not the file {}", f.file, n, ids_of(r), f.out));
    return false;
  }
  for (auto& d : r.drafts) paths->push_back(file_mode ? f.out : (fs::path(f.out) / (d.id + ".yaml")).string());
  bool ok = true;
  for (auto& p : *paths) {
    std::error_code ec;
    if (!f.force && fs::exists(fs::symlink_status(p, ec))) {
      error(fmt::format("{} exists: not overwritten (use --force to replace it)", p));
      ok = false;
    }
  }
  if (ok && !file_mode) {
    std::error_code ec;
    fs::create_directories(f.out, ec);
    if (ec) {
      error(fmt::format("{}: cannot create the directory: {}", f.out, ec.message()));
      ok = false;
    }
  }
  return ok;
}

}  // namespace

int cmd_import(const Global& g, const ImportFlags& f) {
  std::string text;
  if (!read_markdown(f.file, &text)) return kInvalid;
  import::ImportResult r;
  std::string why;
  if (!import::import_markdown(f.file, text, &r, &why)) {
    error(fmt::format("{}: {}", f.file, why));
    return kInvalid;
  }
  std::vector<std::string> yamls;
  for (auto& d : r.drafts) {
    yamls.push_back(import::draft_yaml(d));
    // A draft must load: the YAML loader refuses files over 8 MiB.
    if (yamls.back().size() > kMaxMarkdownBytes) {
      error(fmt::format("{}: the draft '{}' would be {} bytes ({} steps), over the {} MiB a runbook file may have: "
                        "split the document",
                        f.file, d.id, yamls.back().size(), d.steps.size(), kMaxMarkdownBytes >> 20));
      return kInvalid;
    }
  }
  std::vector<std::string> paths;
  if (!plan_outputs(f, r, &paths)) return kInvalid;
  fmt::print(stderr, "runbook import: {}: {} runbook{}\n", f.file, r.drafts.size(), r.drafts.size() == 1 ? "" : "s");
  for (size_t i = 0; i < r.drafts.size(); ++i) {
    const std::string& yaml = yamls[i];
    if (paths[i].empty()) fmt::print("{}", yaml);
    else if (!write_file(paths[i], yaml, f.force)) return kEngine;
    fmt::print(stderr, "{}{}", import::draft_summary(r.drafts[i]),
               paths[i].empty() ? "" : fmt::format("  written to {}\n", paths[i]));
  }
  for (auto& s : r.skipped) fmt::print(stderr, "skipped {}\n", s);
  return kOk;
}

}  // namespace rb::cli
