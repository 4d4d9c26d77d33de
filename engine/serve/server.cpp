// Who asks, and where it goes: authentication, throttling, CSRF and the route table.
#include "serve/server.h"

#include <fmt/format.h>

#include "base/text.h"
#include "serve/pages.h"

namespace rb::serve {

namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t at = 1;
  while (at <= path.size()) {
    size_t slash = path.find('/', at);
    if (slash == std::string::npos) slash = path.size();
    if (slash > at) parts.push_back(url_decode(std::string_view(path).substr(at, slash - at)));
    at = slash + 1;
  }
  return parts;
}

// Where to go after signing in: a path of this server, nothing else.
std::string safe_next(const std::string& next) {
  if (next.size() < 1 || next[0] != '/' || next.starts_with("//") || next.find('\\') != std::string::npos ||
      next.find_first_of("\r\n") != std::string::npos || next.size() > 512)
    return "/";
  return next;
}

Response html(int status, std::string body) {
  return Response{status, "text/html; charset=utf-8", std::move(body), {{"Content-Security-Policy", page_csp()}}};
}

}  // namespace

Response json_response(int status, const Value& v) {
  return Response{status, "application/json", v.dump(-1, ' ', false, Value::error_handler_t::replace) + "\n", {}};
}

Server::Server(sys::Env& env, journal::Store& store, const cli::Global& g, const ServeFlags& f,
               std::vector<Trigger> triggers)
    : env_(env), store_(store), g_(g), flags_(f), runs_(env, store, g),
      sse_(env, store, static_cast<size_t>(std::max(1, f.max_streams))), alerts_(store, runs_, std::move(triggers)),
      page_reg_(cli::make_registry(g)) {
  runs_.on_event = [this](const std::string& run_id, const journal::Event& e) {
    sse_.publish(run_id, e);
    auto it = runbook_of_run_.find(run_id);
    if (it == runbook_of_run_.end()) {
      auto r = store_.run(run_id);
      it = runbook_of_run_.emplace(run_id, r ? r->runbook : "?").first;
    }
    metrics_.observe(it->second, e);
    if (e.type == "run.ended" || e.type == "run.interrupted") runbook_of_run_.erase(run_id);
  };
  runs_.answers_for = [this](const journal::ServeRun& sr) { return alerts_.answers_of(sr); };
}

bool Server::wants_html(const Request& r) {
  return !r.path.starts_with("/api/") && !r.path.starts_with("/hooks/") && r.path != "/metrics";
}

// A page asked for without a session: the sign-in form (401). A link followed from
// another site (a chat, a pager app) arrives without the SameSite=Strict cookie even when
// the browser has one, so the form first reloads the page once from here (`signin=1`):
// that navigation is same-site, the cookie goes with it, and a signed-in phone lands in
// the room.
Response Server::unauthorized(const Request& r, const std::string& why) {
  if (wants_html(r) && r.method == "GET") {
    bool retried = r.query.count("signin") > 0;
    std::string target = r.target;  // the address without our own signin=1
    if (size_t at = target.find("?signin=1&"); at != std::string::npos) target.erase(at + 1, 9);
    else if (target.ends_with("?signin=1")) target.resize(target.size() - 9);
    size_t q = r.target.find('?');
    std::string retry = safe_next(r.path + "?signin=1" + (q == std::string::npos ? "" : "&" + r.target.substr(q + 1)));
    Response res = html(401, login_page(safe_next(target), "", retried ? "" : retry));
    res.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"runbook\"");
    return res;
  }
  Response res = json_response(401, {{"error", why}});
  res.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"runbook\"");
  return res;
}

// The token of a request: the Authorization header, else the session cookie. nullopt
// when there is none, or it is not one of the store's (throttled per address).
std::optional<Identity> Server::identify(const Request& r) {
  Identity who;
  std::string auth = r.header("authorization");
  if (auth.size() > 7 && (auth.compare(0, 7, "Bearer ") == 0 || auth.compare(0, 7, "bearer ") == 0)) {
    who.token = std::string(trim(auth.substr(7)));
  } else {
    who.token = session_cookie(r.header("cookie"));
    who.cookie = true;
  }
  if (who.token.empty()) return std::nullopt;
  auto t = find_token(store_.tokens(), who.token);
  if (!t) {
    throttle_.failed(r.peer, Throttle::Clock::now());
    return std::nullopt;
  }
  auto role = parse_role(t->role);
  if (!role) return std::nullopt;
  who.name = t->name;
  who.role = *role;
  return who;
}

Outcome Server::handle(const Request& r) {
  Outcome out;
  if (r.path == "/healthz") {
    out.response = Response{200, "text/plain; charset=utf-8", "ok\n", {}};
    return out;
  }
  if (long long wait = throttle_.blocked_for(r.peer, Throttle::Clock::now()); wait > 0) {
    out.response = json_response(429, {{"error", "too many failed sign-ins or bad tokens from this address"}});
    out.response.headers.emplace_back("Retry-After", std::to_string(wait));
    return out;
  }
  if (r.path == "/login") return login(r);
  auto who = identify(r);
  if (!who) {
    bool had = !r.header("authorization").empty() || !session_cookie(r.header("cookie")).empty();
    out.response = unauthorized(r, had ? "that token is not valid (revoked, or never created)" : "a token is needed");
    return out;
  }
  if (who->role == Role::Hook && !(r.method == "POST" && r.path.starts_with("/hooks/"))) {
    out.response = json_response(403, {{"error", "a hook token may only post alerts to /hooks/*"}});
    return out;
  }
  // A POST under the session cookie must come from this server's own page.
  if (r.method == "POST" && who->cookie) {
    std::string presented = r.header("x-csrf-token");
    if (presented.empty() && r.header("content-type").starts_with("application/x-www-form-urlencoded"))
      presented = parse_form(r.body)["csrf"];
    if (!csrf_ok(who->token, presented)) {
      out.response = json_response(403, {{"error", "missing or wrong CSRF token (X-CSRF-Token or the form's csrf)"}});
      return out;
    }
  }
  return route(r, *who);
}

Outcome Server::route(const Request& r, const Identity& who) {
  Outcome out;
  auto parts = split_path(r.path);
  if (!parts.empty() && parts[0] == "api") return api(r, who, parts);
  if (parts.size() == 2 && parts[0] == "hooks" && parts[1] == "alertmanager" && r.method == "POST") {
    if (!allows(who.role, Role::Hook)) {
      out.response = json_response(403, {{"error", "posting alerts needs a hook (or admin) token"}});
      return out;
    }
    auto [code, body] = alerts_.webhook(r.body, who.name);
    out.response = json_response(code, body);
    return out;
  }
  if (parts.size() == 1 && parts[0] == "metrics" && r.method == "GET") {
    Metrics::Gauges gauges{runs_.active(), sse_.clients(), connections_ ? connections_() : 0};
    out.response = Response{200, "text/plain; version=0.0.4; charset=utf-8", metrics_.render(store_, gauges), {}};
    return out;
  }
  if (parts.size() == 1 && parts[0] == "logout" && r.method == "POST") {
    out.response = Response{303, "text/plain; charset=utf-8", "signed out\n",
                            {{"Location", "/login"}, {"Set-Cookie", clear_session_cookie(r.tls)}}};
    return out;
  }
  return web(r, who, parts);
}

// GET /login: the form. POST /login (form: token, next): the session cookie, then back
// to the page asked for. Failures count against the address (Throttle).
Outcome Server::login(const Request& r) {
  Outcome out;
  if (r.method == "GET") {
    out.response = html(200, login_page(safe_next(r.query.count("next") ? r.query.at("next") : "/"), ""));
    return out;
  }
  if (r.method != "POST") {
    out.response = json_response(405, {{"error", "GET or POST"}});
    return out;
  }
  auto form = parse_form(r.body);
  std::string next = safe_next(form["next"]);
  auto t = find_token(store_.tokens(), trim(form["token"]));
  if (!t) {
    throttle_.failed(r.peer, Throttle::Clock::now());
    out.response = html(401, login_page(next, "That token is not valid."));
    return out;
  }
  if (t->role == "hook") {
    out.response = html(403, login_page(next, "A hook token only posts alerts; sign in with your own token."));
    return out;
  }
  out.response = Response{303, "text/plain; charset=utf-8", "signed in\n",
                          {{"Location", next}, {"Set-Cookie", set_session_cookie(trim(form["token"]), r.tls)}}};
  return out;
}

}  // namespace rb::serve
