#include "http/url.h"

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <fmt/format.h>

#include "base/text.h"
#include "expr/template.h"
#include "yaml/check.h"

namespace rb::plugins::http {
namespace {

namespace urls = boost::urls;

// The URL component the next character of the template stands in.
enum class Part { Start, Authority, Port, Path, Query, Fragment };

struct Scan {
  Part part = Part::Start;
  bool brackets = false;  // inside an IPv6 literal [ … ]

  void over(std::string_view lit) {
    for (size_t i = 0; i < lit.size(); ++i) {
      char c = lit[i];
      switch (part) {
        case Part::Start:
          if (lit.substr(i).starts_with("://")) {
            part = Part::Authority;
            i += 2;
          }
          break;
        case Part::Authority:
        case Part::Port:
          if (c == '[') brackets = true;
          else if (c == ']') brackets = false;
          else if (c == '/') part = Part::Path;
          else if (c == '?') part = Part::Query;
          else if (c == '#') part = Part::Fragment;
          else if (c == '@') part = Part::Authority;
          else if (c == ':' && !brackets) part = Part::Port;
          break;
        case Part::Path:
          if (c == '?') part = Part::Query;
          else if (c == '#') part = Part::Fragment;
          break;
        case Part::Query:
          if (c == '#') part = Part::Fragment;
          break;
        case Part::Fragment: break;
      }
    }
  }
};

bool http_scheme(std::string_view s) { return s == "http" || s == "https"; }

std::string encoded(const std::string& v) { return urls::encode(v, urls::unreserved_chars); }

bool is_host(const std::string& v) {
  if (v.empty()) return false;
  if (v.front() == '[') return v.back() == ']' && v.find_first_not_of("0123456789abcdefABCDEF:.", 1) == v.size() - 1;
  return v.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_~") == std::string::npos;
}

// The literal text after part k up to the end of the authority: is the value in userinfo?
bool before_at(const expr::Template& t, size_t k) {
  for (size_t j = k + 1; j < t.parts.size(); ++j) {
    for (char c : t.parts[j].literal) {
      if (c == '@') return true;
      if (c == '/' || c == '?' || c == '#') return false;
    }
  }
  return false;
}

}  // namespace

std::string render_url(const yaml::Node& n, plugin::Renderer& r) {
  expr::Error err;
  auto t = expr::parse_template(n.scalar, yaml::text_pos(n), &err);
  if (!t) throw plugin::RenderError{n.pos, fmt::format("in '${{{{ }}}}': {}", err.message)};
  std::string out;
  Scan scan;
  size_t nth = 0;
  for (size_t k = 0; k < t->parts.size(); ++k) {
    const auto& part = t->parts[k];
    out += part.literal;
    scan.over(part.literal);
    if (!part.expr) continue;
    SourcePos at = yaml::interp_pos(n, nth++);
    std::string v = to_text(r.eval(*part.expr));
    std::string what = fmt::format("the value of '${{{{ {} }}}}'", ellipsize(part.expr->text, 60));
    auto refuse = [&](std::string why) { throw plugin::RenderError{at, fmt::format("url: {} {}", what, why)}; };
    switch (scan.part) {
      case Part::Start: {
        if (!out.empty()) refuse("cannot stand inside the scheme");
        auto u = urls::parse_uri(v);
        if (!u || !http_scheme(u->scheme()) || !u->has_authority())
          refuse("is not an http:// or https:// URL (a value at the start of 'url' is its base)");
        bool whole = t->parts.size() == 1;  // the value is the whole URL
        if (!whole && (u->has_query() || u->has_fragment()))
          refuse("has a query or a fragment: a base URL ends at its path");
        std::string rest = k + 1 < t->parts.size() ? t->parts[k + 1].literal : std::string();
        if (v.ends_with('/') && rest.starts_with('/')) v.pop_back();
        out += v;
        scan.part = u->encoded_path().empty() ? Part::Authority : Part::Path;
        if (u->has_query()) scan.part = Part::Query;
        if (u->has_fragment()) scan.part = Part::Fragment;
        break;
      }
      case Part::Authority:
      case Part::Port:
        if (before_at(*t, k)) out += encoded(v);  // user or password
        else if (scan.part == Part::Port && !scan.brackets) {
          if (v.empty() || v.size() > 5 || v.find_first_not_of("0123456789") != std::string::npos)
            refuse("is not a port number");
          out += v;
        } else {
          if (!is_host(v)) refuse("is not a host name or IP address");
          out += v;
        }
        break;
      case Part::Path:
        // One segment's text: '/' and every reserved character encoded; a segment made
        // of dots only would move up the path, so its dots are encoded too.
        if (!v.empty() && v.find_first_not_of('.') == std::string::npos) {
          for (size_t i = 0; i < v.size(); ++i) out += "%2E";
        } else {
          out += encoded(v);
        }
        break;
      case Part::Query:
      case Part::Fragment: out += encoded(v); break;
    }
  }
  auto u = urls::parse_uri(out);
  if (!u) throw plugin::RenderError{yaml::text_pos(n), fmt::format("url: not a valid URL ({})", u.error().message())};
  if (!http_scheme(u->scheme())) throw plugin::RenderError{yaml::text_pos(n), "url: must start with http:// or https://"};
  return out;
}

std::optional<std::string> static_url_problem(const std::string& url) {
  if (!url.starts_with("http://") && !url.starts_with("https://")) return "http 'url' must start with http:// or https://";
  auto u = urls::parse_uri(url);
  if (!u) return fmt::format("http 'url' is not a valid URL ({}): encode spaces and special characters", u.error().message());
  return std::nullopt;
}

std::optional<std::string> header_problem(const std::string& name, const std::string& value) {
  auto bad = [](const std::string& s) { return s.find_first_of(std::string("\r\n\0", 3)) != std::string::npos; };
  if (bad(name)) return "a header name holding CR, LF or NUL";
  if (name.empty() || name.find_first_of(" \t:()<>@,;\\\"/[]?={}") != std::string::npos)
    return fmt::format("header name '{}' is not a token (letters, digits and !#$%&'*+-.^_`|~)", ellipsize(name, 40));
  if (bad(value)) return fmt::format("the value of header '{}' holds CR, LF or NUL", ellipsize(name, 40));
  return std::nullopt;
}

}  // namespace rb::plugins::http
