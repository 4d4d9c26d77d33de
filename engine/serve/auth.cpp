#include "serve/auth.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <stdexcept>

namespace rb::serve {

namespace {

void need_sodium() {
  static const bool ready = sodium_init() >= 0;
  if (!ready) throw std::runtime_error("libsodium could not be initialised");
}

std::string to_hex(const unsigned char* p, size_t n) {
  std::string out(n * 2, '\0');
  sodium_bin2hex(out.data(), out.size() + 1, p, n);  // writes n*2 characters and a NUL
  return out;
}

}  // namespace

std::optional<Role> parse_role(std::string_view s) {
  if (s == "viewer") return Role::Viewer;
  if (s == "operator") return Role::Operator;
  if (s == "approver") return Role::Approver;
  if (s == "admin") return Role::Admin;
  if (s == "hook") return Role::Hook;
  return std::nullopt;
}

const char* role_name(Role r) {
  switch (r) {
    case Role::Viewer: return "viewer";
    case Role::Operator: return "operator";
    case Role::Approver: return "approver";
    case Role::Admin: return "admin";
    case Role::Hook: return "hook";
  }
  return "?";
}

bool allows(Role have, Role need) {
  if (need == Role::Hook) return have == Role::Hook || have == Role::Admin;
  if (have == Role::Hook) return false;
  return static_cast<int>(have) >= static_cast<int>(need);
}

std::string new_token() {
  need_sodium();
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  std::string b64(sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(b64.data(), b64.size(), raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  b64.resize(std::strlen(b64.c_str()));
  sodium_memzero(raw, sizeof raw);
  return "rbt_" + b64;
}

std::string token_hash(std::string_view token) {
  need_sodium();
  unsigned char h[32];
  crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char*>(token.data()), token.size(), nullptr, 0);
  return to_hex(h, sizeof h);
}

std::optional<journal::Token> find_token(const std::vector<journal::Token>& stored, std::string_view presented) {
  if (presented.empty() || presented.size() > 256) return std::nullopt;
  std::string h = token_hash(presented);
  std::optional<journal::Token> found;
  for (auto& t : stored)  // every one compared, each in constant time: no early exit
    if (t.hash.size() == h.size() && sodium_memcmp(t.hash.data(), h.data(), h.size()) == 0) found = t;
  return found;
}

std::string csrf_for(std::string_view token) {
  need_sodium();
  // BLAKE2b keys are 16..64 bytes: a token is 47; anything else is first hashed to 32.
  std::string key(token);
  if (key.size() < crypto_generichash_KEYBYTES_MIN || key.size() > crypto_generichash_KEYBYTES_MAX) {
    unsigned char k[32];
    crypto_generichash(k, sizeof k, reinterpret_cast<const unsigned char*>(key.data()), key.size(), nullptr, 0);
    key.assign(reinterpret_cast<const char*>(k), sizeof k);
  }
  static const std::string msg = "runbook serve csrf v1";
  unsigned char h[16];
  crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char*>(msg.data()), msg.size(),
                     reinterpret_cast<const unsigned char*>(key.data()), key.size());
  return to_hex(h, sizeof h);
}

bool csrf_ok(std::string_view token, std::string_view presented) {
  std::string want = csrf_for(token);
  return presented.size() == want.size() && sodium_memcmp(presented.data(), want.data(), want.size()) == 0;
}

std::string session_cookie(std::string_view header) {
  size_t at = 0;
  while (at < header.size()) {
    size_t semi = header.find(';', at);
    if (semi == std::string_view::npos) semi = header.size();
    std::string_view part = header.substr(at, semi - at);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > kSessionCookie.size() && part.substr(0, kSessionCookie.size()) == kSessionCookie &&
        part[kSessionCookie.size()] == '=')
      return std::string(part.substr(kSessionCookie.size() + 1));
    at = semi + 1;
  }
  return "";
}

std::string set_session_cookie(std::string_view token, bool secure) {
  return fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200{}", kSessionCookie, token,
                     secure ? "; Secure" : "");
}

std::string clear_session_cookie(bool secure) {
  return fmt::format("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}", kSessionCookie, secure ? "; Secure" : "");
}

Throttle::Throttle(int max_failures, std::chrono::seconds window, size_t max_clients)
    : max_(max_failures), window_(window), max_clients_(max_clients) {}

void Throttle::prune(Entry& e, Clock::time_point now) {
  std::erase_if(e.failures, [&](Clock::time_point t) { return now - t >= window_; });
}

long long Throttle::blocked_for(const std::string& peer, Clock::time_point now) {
  auto it = by_peer_.find(peer);
  if (it == by_peer_.end()) return 0;
  prune(it->second, now);
  if (static_cast<int>(it->second.failures.size()) < max_) return 0;
  auto until = it->second.failures.front() + window_;
  return std::max<long long>(1, std::chrono::duration_cast<std::chrono::seconds>(until - now).count());
}

void Throttle::failed(const std::string& peer, Clock::time_point now) {
  if (by_peer_.size() >= max_clients_ && !by_peer_.count(peer)) {
    auto oldest = std::min_element(by_peer_.begin(), by_peer_.end(),
                                   [](auto& a, auto& b) { return a.second.last < b.second.last; });
    by_peer_.erase(oldest);
  }
  Entry& e = by_peer_[peer];
  prune(e, now);
  e.failures.push_back(now);
  e.last = now;
}

}  // namespace rb::serve
