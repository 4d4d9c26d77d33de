// Who may do what on `runbook serve` (contract §7): tokens, roles, the session cookie,
// CSRF, and throttling of failed logins.
//
// Tokens: 32 bytes from libsodium's CSPRNG, shown once as "rbt_" + base64url. The store
// keeps only BLAKE2b-256(token): a fast hash is the right one for a 256-bit random secret
// (there is nothing to brute-force), where a password hash (crypto_pwhash) would cost each
// request and each of a thousand event streams tens of milliseconds and megabytes, and
// hand a CPU lever to anyone who can send requests. A presented token is hashed and
// compared with every stored hash in constant time (sodium_memcmp, no early exit).
//
// The session cookie (POST /login) holds the token itself: HttpOnly (scripts cannot read
// it), SameSite=Strict (other sites' pages cannot send it), Secure under TLS, 12 hours.
// Revoking the token therefore ends its sessions at once, on every server of the store,
// and a restarted server keeps them. A POST authenticated by the cookie must carry the
// page's CSRF token: BLAKE2b-128 keyed by the session's token, so only a page that the
// token's own session loaded knows it.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "journal/store.h"

namespace rb::serve {

enum class Role { Viewer, Operator, Approver, Admin, Hook };

std::optional<Role> parse_role(std::string_view s);
const char* role_name(Role r);
/// Whether a token of role `have` may do what needs `need`: viewer < operator < approver
/// < admin; a hook token may only post alerts (need Hook), which admin may too.
bool allows(Role have, Role need);

/// A new token from the CSPRNG: "rbt_" + 43 base64url characters.
std::string new_token();
/// What the store keeps: hex BLAKE2b-256 of the token.
std::string token_hash(std::string_view token);
/// The stored token `presented` is, compared in constant time with each; nullopt if none.
std::optional<journal::Token> find_token(const std::vector<journal::Token>& stored, std::string_view presented);

/// The CSRF token of the session that holds `token` (hex); and its constant-time check.
std::string csrf_for(std::string_view token);
bool csrf_ok(std::string_view token, std::string_view presented);

/// The session cookie's name, value from a Cookie header ("" when absent), and the
/// Set-Cookie values that set and clear it.
inline constexpr std::string_view kSessionCookie = "rb_session";
std::string session_cookie(std::string_view cookie_header);
std::string set_session_cookie(std::string_view token, bool secure);
std::string clear_session_cookie(bool secure);

/// Failed logins and bad tokens per client address: more than `max_failures` within
/// `window` and that address is refused (429) until the window has passed. Bounded:
/// at most `max_clients` addresses are remembered (the oldest forgotten first).
class Throttle {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Throttle(int max_failures = 10, std::chrono::seconds window = std::chrono::seconds(300),
                    size_t max_clients = 10000);
  /// Seconds before `peer` may try again (0: now).
  long long blocked_for(const std::string& peer, Clock::time_point now);
  void failed(const std::string& peer, Clock::time_point now);

 private:
  struct Entry {
    std::vector<Clock::time_point> failures;
    Clock::time_point last;
  };
  void prune(Entry& e, Clock::time_point now);
  int max_;
  std::chrono::seconds window_;
  size_t max_clients_;
  std::map<std::string, Entry> by_peer_;
};

}  // namespace rb::serve
