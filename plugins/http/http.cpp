// The http plugin: libcurl's multi_socket interface driven by the engine's Asio loop.
// Each request is one easy handle; sockets and curl's timer are watched by Asio, so any
// number of requests in flight costs no thread or process.
#include "http/http.h"

#include "base/events.h"

#include "http/url.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <curl/curl.h>

#include <chrono>
#include <fmt/format.h>
#include <map>

#include "base/text.h"
#include "yaml/check.h"

namespace rb::plugins {
namespace {

namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;
constexpr size_t kBodyCap = 1u << 20;
constexpr int kMaxRedirects = 10;

struct Transfer;

// One multi handle per plugin instance (that is, per run), bound to the loop.
class CurlLoop {
 public:
  explicit CurlLoop(asio::io_context& io) : io_(io), timer_(std::make_unique<asio::steady_timer>(io)) {
    multi_ = curl_multi_init();
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlLoop::on_socket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlLoop::on_timer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
  }
  ~CurlLoop() {
    shutdown();
    curl_multi_cleanup(multi_);
  }

  /// Drops everything bound to the io_context (before it goes away). Transfers still
  /// alive after this only talk to curl.
  void shutdown() {
    for (auto& [fd, s] : socks_) {
      boost::system::error_code ignore;
      s->d.cancel(ignore);
      s->d.release();
    }
    socks_.clear();
    retired_.clear();
    timer_.reset();
  }

  void add(CURL* easy) {
    curl_multi_add_handle(multi_, easy);
  }
  void remove(CURL* easy) { curl_multi_remove_handle(multi_, easy); }
  asio::io_context& io() { return io_; }
  bool alive() const { return timer_ != nullptr; }

 private:
  struct Sock {
    explicit Sock(asio::io_context& io) : d(io) {}
    asio::posix::stream_descriptor d;
    int want = 0;  // CURL_POLL_*
    bool reading = false, writing = false;
    unsigned gen = 0;
  };

  static int on_socket(CURL*, curl_socket_t fd, int what, void* userp, void*) {
    auto* self = static_cast<CurlLoop*>(userp);
    if (what == CURL_POLL_REMOVE) {
      auto it = self->socks_.find(fd);
      if (it != self->socks_.end()) {
        boost::system::error_code ignore;
        it->second->d.cancel(ignore);
        it->second->d.release();
        self->retired_.push_back(std::move(it->second));  // handlers may still hold it
        self->socks_.erase(it);
      }
      return 0;
    }
    if (!self->timer_) return 0;  // shut down
    auto& s = self->socks_[fd];
    if (!s) {
      s = std::make_unique<Sock>(self->io_);
      s->d.assign(fd);
    }
    s->want = what;
    self->arm(fd);
    return 0;
  }

  static int on_timer(CURLM*, long timeout_ms, void* userp) {
    auto* self = static_cast<CurlLoop*>(userp);
    if (!self->timer_) return 0;
    self->timer_->cancel();
    if (timeout_ms < 0) return 0;
    self->timer_->expires_after(std::chrono::milliseconds(timeout_ms));
    self->timer_->async_wait([self](const boost::system::error_code& ec) {
      if (ec) return;
      int running = 0;
      curl_multi_socket_action(self->multi_, CURL_SOCKET_TIMEOUT, 0, &running);
      self->check_done();
    });
    return 0;
  }

  void arm(curl_socket_t fd) {
    auto it = socks_.find(fd);
    if (it == socks_.end()) return;
    Sock* s = it->second.get();
    if ((s->want & CURL_POLL_IN) && !s->reading) {
      s->reading = true;
      s->d.async_wait(asio::posix::stream_descriptor::wait_read, [this, fd, s](const boost::system::error_code& ec) {
        s->reading = false;
        if (ec) return;
        event(fd, CURL_CSELECT_IN);
      });
    }
    if ((s->want & CURL_POLL_OUT) && !s->writing) {
      s->writing = true;
      s->d.async_wait(asio::posix::stream_descriptor::wait_write, [this, fd, s](const boost::system::error_code& ec) {
        s->writing = false;
        if (ec) return;
        event(fd, CURL_CSELECT_OUT);
      });
    }
  }

  void event(curl_socket_t fd, int ev) {
    int running = 0;
    curl_multi_socket_action(multi_, fd, ev, &running);
    check_done();
    arm(fd);
    retired_.clear();
  }

  void check_done();

  asio::io_context& io_;
  std::unique_ptr<asio::steady_timer> timer_;
  CURLM* multi_ = nullptr;
  std::map<curl_socket_t, std::unique_ptr<Sock>> socks_;
  std::vector<std::unique_ptr<Sock>> retired_;
};

struct Request {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;
  std::optional<std::string> body;
  bool insecure = false;
  long timeout_ms = 0;
};

struct Transfer : plugin::Running, std::enable_shared_from_this<Transfer> {
  std::shared_ptr<CurlLoop> loop;
  CURL* easy = nullptr;
  curl_slist* hdrs = nullptr;
  Request req;
  std::string body;
  size_t body_bytes = 0;
  bool truncated = false;
  Value resp_headers = Value::object();
  char errbuf[CURL_ERROR_SIZE] = {0};
  plugin::DoneFn done;
  SteadyClock::time_point started = SteadyClock::now();
  int redirects = 0;
  bool finished = false;
  std::shared_ptr<Transfer> keep;  // self-reference while in flight

  ~Transfer() override { cleanup(); }

  void cleanup() {
    if (easy) {
      loop->remove(easy);
      curl_easy_cleanup(easy);
      easy = nullptr;
    }
    if (hdrs) {
      curl_slist_free_all(hdrs);
      hdrs = nullptr;
    }
  }

  static size_t on_body(char* p, size_t sz, size_t n, void* ud) {
    auto* t = static_cast<Transfer*>(ud);
    size_t len = sz * n;
    t->body_bytes += len;
    if (t->body.size() < kBodyCap) {
      size_t room = kBodyCap - t->body.size();
      t->body.append(p, std::min(room, len));
      if (len > room) t->truncated = true;
    } else {
      t->truncated = true;
    }
    return len;
  }

  static size_t on_header(char* p, size_t sz, size_t n, void* ud) {
    auto* t = static_cast<Transfer*>(ud);
    std::string_view line(p, sz * n);
    if (line.starts_with("HTTP/")) t->resp_headers = Value::object();  // a new response (redirect)
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string k(trim(line.substr(0, colon)));
      for (auto& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      t->resp_headers[k] = std::string(trim(line.substr(colon + 1)));
    }
    return sz * n;
  }

  bool begin(std::string* err) {
    cleanup();
    body.clear();
    body_bytes = 0;
    truncated = false;
    easy = curl_easy_init();
    if (!easy) {
      *err = "curl_easy_init failed";
      return false;
    }
    curl_easy_setopt(easy, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);  // redirects are checked and followed by us
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Transfer::on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, this);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, this);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "runbook/0.1");
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, req.insecure ? 0L : 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, req.insecure ? 0L : 2L);
    if (req.timeout_ms > 0) curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, req.timeout_ms);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 10'000L);
    for (auto& h : req.headers) hdrs = curl_slist_append(hdrs, h.c_str());
    if (hdrs) curl_easy_setopt(easy, CURLOPT_HTTPHEADER, hdrs);
    if (req.method == "HEAD") curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    else if (req.method != "GET") curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (req.body) {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body->size()));
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, req.body->c_str());
    }
    loop->add(easy);
    return true;
  }

  void cancel() override {
    if (finished) return;
    plugin::Outcome o;
    o.cancelled = true;
    o.error = "cancelled";
    complete(std::move(o));
  }

  void complete(plugin::Outcome o) {
    if (finished) return;
    finished = true;
    cleanup();
    auto d = std::move(done);
    auto self = std::move(keep);
    if (!loop->alive()) return;  // the run is over: nobody waits for this any more
    asio::post(loop->io(), [d, o = std::move(o), self]() mutable { d(std::move(o)); });
  }

  void on_done(CURLcode rc) {
    long ms = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started).count();
    if (rc != CURLE_OK) {
      plugin::Outcome o;
      o.error = errbuf[0] ? std::string(errbuf) : curl_easy_strerror(rc);
      o.result = Value{{"error", o.error}, {"duration_ms", ms}};
      if (rc == CURLE_OPERATION_TIMEDOUT) {
        o.timed_out = true;  // the request's own `timeout`: the step timed out (on_timeout)
        o.result["timed_out"] = true;
      }
      return complete(std::move(o));
    }
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    char* location = nullptr;
    curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &location);
    if (status >= 300 && status < 400 && location && *location) {
      std::string next(location);
      if (++redirects > kMaxRedirects) return fail(fmt::format("more than {} redirects", kMaxRedirects), ms);
      bool from_https = req.url.starts_with("https://");
      if (!next.starts_with("http://") && !next.starts_with("https://"))
        return fail(fmt::format("refusing redirect to '{}': only http and https are followed", ellipsize(next, 200)), ms);
      if (from_https && next.starts_with("http://"))
        return fail(fmt::format("refusing redirect from https to http ({})", ellipsize(next, 200)), ms);
      if (status == 303 || ((status == 301 || status == 302) && req.method == "POST")) {
        req.method = "GET";
        req.body.reset();
      }
      req.url = next;
      std::string err;
      if (!begin(&err)) return fail(err, ms);
      return;
    }
    plugin::Outcome o;
    o.completed = true;
    o.ok = status >= 200 && status < 300;
    o.result["status"] = status;
    o.result["headers"] = resp_headers;
    o.result["body"] = body;
    if (truncated) {
      o.result["body_truncated"] = true;
      o.result["body_bytes"] = body_bytes;
    }
    auto j = parse_json_bounded(body);
    if (!j.is_discarded()) o.result["json"] = std::move(j);
    o.result["duration_ms"] = ms;
    o.result["url"] = req.url;
    if (!o.ok) o.error = fmt::format("HTTP {}", status);
    complete(std::move(o));
  }

  void fail(std::string msg, long ms) {
    plugin::Outcome o;
    o.error = std::move(msg);
    o.result = Value{{"error", o.error}, {"duration_ms", ms}};
    complete(std::move(o));
  }
};

void CurlLoop::check_done() {
  int left = 0;
  while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
    if (m->msg != CURLMSG_DONE) continue;
    Transfer* t = nullptr;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &t);
    CURLcode rc = m->data.result;
    if (t) t->on_done(rc);
  }
}

// Forwards cancel() to the shared transfer.
struct Handle : plugin::Running {
  std::shared_ptr<Transfer> t;
  void cancel() override { t->cancel(); }
};

class HttpPlugin : public plugin::Plugin {
 public:
  HttpPlugin() { curl_global_init(CURL_GLOBAL_DEFAULT); }

  std::string name() const override { return "http"; }
  void finish_run() override {
    if (loop_) loop_->shutdown();
    loop_.reset();
  }

  void validate(const yaml::Node& p, const plugin::ValidateContext& ctx) const override {
    if (p.is_scalar()) return;  // http: URL (a GET)
    if (!yaml::want_map(p, fmt::format("'http' {}", ctx.where), ctx.diag)) return;
    yaml::check_keys(p, {"url", "method", "headers", "body", "json", "timeout", "insecure", "idempotency_header"},
                      fmt::format("in http {}", ctx.where), ctx.diag);
    if (!p.get("url")) ctx.diag.error(p.pos, fmt::format("'http' {} needs 'url'", ctx.where));
    else if (auto u = yaml::want_string(*p.get("url"), "'url'", ctx.diag)) {
      if (u->find("${{") == std::string::npos)
        if (auto why = http::static_url_problem(*u)) ctx.diag.error(yaml::text_pos(*p.get("url")), *why);
    }
    if (auto* m = p.get("method")) {
      if (auto s = yaml::want_string(*m, "'method'", ctx.diag)) {
        static const std::vector<std::string> ok = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
        if (std::find(ok.begin(), ok.end(), *s) == ok.end())
          ctx.diag.error(yaml::text_pos(*m), fmt::format("http method '{}' must be one of {}{}", *s, join(ok, ", "),
                                                          did_you_mean_suffix(*s, ok)));
      }
    }
    if (p.get("body") && p.get("json")) ctx.diag.error(p.entry("json")->first.pos, "give 'body' or 'json', not both");
    if (auto* h = p.get("headers")) {
      if (yaml::want_map(*h, "'headers'", ctx.diag))
        for (auto& [k, v] : h->entries) {
          if (!v.is_scalar()) {
            ctx.diag.error(v.pos, fmt::format("header '{}' must be a single value", k.scalar));
            continue;
          }
          // Static text is checked now; interpolated values when the step renders them.
          std::string value = v.scalar.find("${{") == std::string::npos ? v.scalar : std::string();
          if (auto why = http::header_problem(k.scalar, value)) ctx.diag.error(yaml::text_pos(v), *why + ": never sent");
        }
    }
    if (auto* ih = p.get("idempotency_header"); ih && ih->is_scalar() && ih->quoted)
      if (auto why = http::header_problem(ih->scalar, "")) ctx.diag.error(yaml::text_pos(*ih), *why);
    if (auto* t = p.get("timeout")) yaml::want_duration_param(*t, "'timeout'", ctx.diag);
    if (auto* i = p.get("insecure")) yaml::want_bool(*i, "'insecure'", ctx.diag);
  }

  bool default_mutates(const yaml::Node& p) const override {
    if (!p.is_map()) return false;
    auto* m = p.get("method");
    if (!m || !m->is_scalar()) return false;
    return !(m->scalar == "GET" || m->scalar == "HEAD" || m->scalar == "OPTIONS");
  }

  // The URL is built from its template (values encoded for their component); headers
  // holding CR, LF or NUL fail the step before anything is sent.
  Value render(const yaml::Node& p, plugin::Renderer& r) const override {
    if (p.is_scalar()) return http::render_url(p, r);
    Value out = Value::object();
    for (auto& [k, v] : p.entries) {
      if (k.scalar == "url" && v.is_scalar()) out["url"] = http::render_url(v, r);
      else out[k.scalar] = r.render(v);
    }
    if (const yaml::Node* h = p.get("headers"); h && out.contains("headers") && out["headers"].is_object()) {
      for (auto& [k, v] : out["headers"].items()) {
        if (auto problem = http::header_problem(k, to_text(v))) {
          const yaml::Node* at = h->get(k);
          throw plugin::RenderError{at ? yaml::text_pos(*at) : h->pos, *problem + ": the request was not sent"};
        }
      }
    }
    plugin::check_rendered_duration(p, out, "timeout");
    return out;
  }

  std::string describe(const Value& p) const override {
    if (p.is_string()) return "GET " + p.get<std::string>();
    std::string s = fmt::format("{} {}", to_text(p.value("method", Value("GET"))), to_text(p.value("url", Value(""))));
    if (p.value("insecure", false)) s += " (insecure: TLS not verified)";
    return s;
  }

  std::unique_ptr<plugin::Running> start(const Value& p, plugin::ActionContext& ctx, plugin::DoneFn done) override {
    if (!loop_) loop_ = std::make_shared<CurlLoop>(ctx.env->io());
    auto t = std::make_shared<Transfer>();
    t->loop = loop_;
    t->done = std::move(done);
    t->keep = t;
    Request& r = t->req;
    if (p.is_string()) {
      r.url = p.get<std::string>();
    } else {
      r.url = to_text(p.value("url", Value("")));
      r.method = to_text(p.value("method", Value("GET")));
      r.insecure = p.value("insecure", false);
      if (p.contains("headers"))
        for (auto& [k, v] : p["headers"].items()) r.headers.push_back(k + ": " + to_text(v));
      if (p.contains("json")) {
        r.body = p["json"].dump();
        r.headers.push_back("Content-Type: application/json");
        if (r.method == "GET") r.method = "POST";
      } else if (p.contains("body")) {
        r.body = to_text(p["body"]);
        if (r.method == "GET") r.method = "POST";
      }
      if (p.contains("idempotency_header")) {
        const Value& ih = p["idempotency_header"];
        std::string name = ih.is_string() ? ih.get<std::string>() : "Idempotency-Key";
        if (!(ih.is_boolean() && !ih.get<bool>())) r.headers.push_back(name + ": " + ctx.idempotency_key);
      }
      if (p.contains("timeout")) {
        if (auto d = parse_duration(to_text(p["timeout"]))) r.timeout_ms = static_cast<long>(d->count());
      }
    }
    if (r.timeout_ms == 0 && ctx.timeout) r.timeout_ms = static_cast<long>(ctx.timeout->count());
    for (auto& h : r.headers) {
      // Rendered headers were checked; this also covers the idempotency header and any
      // caller that did not render through render().
      size_t colon = h.find(": ");
      if (auto why = http::header_problem(h.substr(0, colon), colon == std::string::npos ? "" : h.substr(colon + 2))) {
        plugin::Outcome o;
        o.error = *why + ": the request was not sent";
        t->complete(std::move(o));
        auto hnd = std::make_unique<Handle>();
        hnd->t = t;
        return hnd;
      }
    }
    if (r.insecure && ctx.emit) ctx.emit(ev::kHttpInsecure, Value{{"url", r.url}});
    std::string err;
    if (!t->begin(&err)) {
      plugin::Outcome o;
      o.error = err;
      t->complete(std::move(o));
    }
    auto h = std::make_unique<Handle>();
    h->t = t;
    return h;
  }

 private:
  std::shared_ptr<CurlLoop> loop_;
};

}  // namespace

std::unique_ptr<plugin::Plugin> make_http_plugin() { return std::make_unique<HttpPlugin>(); }

}  // namespace rb::plugins
