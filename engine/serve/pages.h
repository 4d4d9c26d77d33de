// The pages of `runbook serve` (contract §7), rendered on the server: `/` the runs, and
// `/runs/{id}` the incident room. One self-contained document each (styles and script
// inline, see assets.cpp), readable without JavaScript, laid out for a phone (one column,
// the clock kept in view, big buttons) and a wall screen (three columns, a big clock).
// Every value that comes from a run, a runbook or a person is HTML-escaped
// (markup_escape): a note holding <script> shows as text.
#pragma once

#include <string>
#include <vector>

#include "journal/store.h"
#include "serve/auth.h"
#include "serve/views.h"

namespace rb::serve {

extern const char* const kPageCss;
extern const char* const kPageJs;
/// The Content-Security-Policy of the pages: exactly the inline style and script.
const std::string& page_csp();

/// Who looks at a page.
struct Viewer {
  std::string name;
  Role role = Role::Viewer;
  std::string csrf;  ///< the form token of this session
};

/// The sign-in form; with `retry`, the page first reloads itself once at that address
/// (see Server::unauthorized).
std::string login_page(const std::string& next, const std::string& error, const std::string& retry = "");
std::string runs_page(const std::vector<journal::RunInfo>& runs, const std::vector<std::string>& runbooks,
                      const Viewer& v, const std::string& flash);
std::string room_page(const Room& room, const Viewer& v, const std::string& flash);
/// A short page for a refusal or a failure, with a link back.
std::string message_page(int status, const std::string& message, const std::string& back);

}  // namespace rb::serve
