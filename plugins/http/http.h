// `http`: {url, method, headers, body | json, timeout, insecure, idempotency_header}.
// result: status, headers, body (capped), json (when the body is JSON), duration_ms.
// Success: a 2xx status unless the step's `expect` says otherwise. TLS is verified unless
// `insecure: true` (recorded in the timeline). Redirects are followed within http/https,
// never from https to http. Requests run on libcurl's multi interface driven by the
// engine's Asio loop: a parallel step of many requests costs no thread per request.
#pragma once

#include <memory>

#include "plugin/plugin.h"

namespace rb::plugins {
std::unique_ptr<plugin::Plugin> make_http_plugin();
}
