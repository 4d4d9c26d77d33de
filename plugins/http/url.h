// URLs and headers of http actions built so that values stay data (contract section 1,
// `http`, v2).
//
// The URL template is split before rendering: its literal text fixes the structure
// (scheme, authority, path, query, fragment) and each `${{ }}` is encoded for the
// component it stands in, with Boost.URL:
//   at the very start   the base: an absolute http(s) URL (scheme://host[:port][/path]),
//                       without query or fragment unless it is the whole URL
//   in the host / port  a host name or IP address / digits, else an error
//   in the path         percent-encoded as one segment's text ('/', '?', '#', '%' … and a
//                       value of only dots are encoded): never a new segment, never `..`
//   in query, fragment  percent-encoded (only unreserved characters stay): never a new
//                       parameter, query or fragment
// The result must parse as an http(s) URI. Header names and values holding CR, LF or NUL
// are refused (never sent).
#pragma once

#include <optional>
#include <string>

#include "plugin/plugin.h"
#include "yaml/node.h"

namespace rb::plugins::http {

/// Renders the URL template `n` (a scalar). Throws plugin::RenderError (with the position
/// of the offending `${{`) when a value cannot stand where it is, or the result is not
/// an http(s) URL.
std::string render_url(const yaml::Node& n, plugin::Renderer& r);

/// For validation: why a URL written without `${{ }}` is not acceptable, or nullopt.
std::optional<std::string> static_url_problem(const std::string& url);

/// Why a header name or value cannot be sent (CR, LF, NUL; a name that is not a token),
/// or nullopt.
std::optional<std::string> header_problem(const std::string& name, const std::string& value);

}  // namespace rb::plugins::http
