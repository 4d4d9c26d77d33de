// Boost.Beast connections for serve/http.h: one Conn per client, a template over the
// stream (plain TCP, or TLS over it) so both paths are the same code. The only
// translation unit that sees Beast and Asio SSL (they cost seconds to compile).
#include "serve/http.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <deque>
#include <fmt/format.h>

namespace rb::serve {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

std::string Request::header(std::string_view name) const {
  for (auto& [k, v] : headers)
    if (k == name) return v;
  return "";
}

std::string url_decode(std::string_view s, bool form) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else if (form && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::map<std::string, std::string> parse_form(std::string_view s) {
  std::map<std::string, std::string> out;
  size_t at = 0;
  while (at <= s.size()) {
    size_t amp = s.find('&', at);
    if (amp == std::string_view::npos) amp = s.size();
    std::string_view pair = s.substr(at, amp - at);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      std::string k = url_decode(pair.substr(0, eq), true);
      std::string v = eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1), true);
      out.emplace(std::move(k), std::move(v));  // the first of a repeated name wins
    }
    at = amp + 1;
  }
  return out;
}

namespace {

const char* reason_of(int status) {
  return bhttp::obsolete_reason(static_cast<bhttp::status>(status)).data();
}

// A header name or value never holds CR, LF or NUL (it would split the response).
bool header_safe(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos; }

// Headers every response carries. The pages' scripts and styles are inline and fixed:
// CSP allows exactly those (by hash, see pages.cpp), nothing from another host.
void security_headers(bhttp::fields& f, bool tls) {
  f.set("X-Content-Type-Options", "nosniff");
  f.set("Referrer-Policy", "no-referrer");
  f.set("X-Frame-Options", "DENY");
  if (tls) f.set("Strict-Transport-Security", "max-age=31536000");
}

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(asio::io_context& io, Handler h) : io(io), acceptor(io), backoff(io), handler(std::move(h)) {}
  asio::io_context& io;
  tcp::acceptor acceptor;
  asio::steady_timer backoff;  ///< after a failed accept (out of descriptors): a pause, not a spin
  Handler handler;
  HttpOptions opts;
  std::unique_ptr<ssl::context> tls;
  size_t open = 0;
  bool stopped = false;

  void accept();
};

namespace {

template <class Stream>
class Conn : public std::enable_shared_from_this<Conn<Stream>>, public EventStream {
 public:
  template <class... Args>
  Conn(std::shared_ptr<HttpServer::Impl> srv, tcp::socket sock, Args&&... args)
      : srv_(std::move(srv)), stream_(std::move(sock), std::forward<Args>(args)...) {
    ++srv_->open;
    boost::system::error_code ec;
    auto ep = tcp_().socket().remote_endpoint(ec);
    peer_ = ec ? "?" : ep.address().to_string();
    tcp_().socket().set_option(tcp::no_delay(true), ec);
  }
  ~Conn() override { --srv_->open; }

  void start() {
    if constexpr (kTls) {
      tcp_().expires_after(std::chrono::seconds(10));
      stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec) return self->shut();
        self->read();
      });
    } else {
      read();
    }
  }

  // EventStream ---------------------------------------------------------------------
  bool send(std::string bytes) override {
    if (closed_) return false;
    queued_ += bytes.size();
    if (queued_ > srv_->opts.max_stream_queue) {
      close();
      return false;
    }
    out_.push_back(std::move(bytes));
    if (!writing_) write_next();
    return true;
  }
  void close() override { shut(); }
  bool closed() const override { return closed_; }
  size_t queued() const override { return queued_; }

  /// Refuses at once: the server has too many connections.
  void refuse_busy() {
    respond(Response{503, "text/plain; charset=utf-8", "too many connections: try again later\n", {{"Retry-After", "5"}}},
            false);
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  beast::tcp_stream& tcp_() { return beast::get_lowest_layer(stream_); }

  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(srv_->opts.max_header));
    parser_->body_limit(srv_->opts.max_body);
    tcp_().expires_after(srv_->opts.request_timeout);
    bhttp::async_read(stream_, buf_, *parser_,
                      [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == bhttp::error::body_limit)
      return respond(Response{413, "text/plain; charset=utf-8",
                              fmt::format("request body over {} bytes: refused\n", srv_->opts.max_body), {}},
                     false, true);
    if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow)
      return respond(Response{431, "text/plain; charset=utf-8", "request headers too large\n", {}}, false);
    if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message || ec == beast::error::timeout ||
        ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
      return shut();
    if (ec) return respond(Response{400, "text/plain; charset=utf-8", "bad request\n", {}}, false);
    auto& m = parser_->get();
    Request r;
    r.method = std::string(m.method_string());
    r.target = std::string(m.target());
    size_t q = r.target.find('?');
    r.path = r.target.substr(0, q);
    if (q != std::string::npos) r.query = parse_form(std::string_view(r.target).substr(q + 1));
    for (auto& f : m) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    r.body = std::move(m.body());
    r.peer = peer_;
    r.tls = kTls;
    bool keep = m.keep_alive();
    Outcome out;
    try {
      out = srv_->handler(r);
    } catch (const std::exception& e) {
      fmt::print(stderr, "runbook serve: internal error on {} {}: {}\n", r.method, r.path, e.what());
      out.response = Response{500, "text/plain; charset=utf-8", "internal error\n", {}};
    }
    if (out.stream) return start_stream(out);
    respond(out.response, keep);
  }

  void respond(const Response& rs, bool keep, bool drain = false) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(static_cast<bhttp::status>(rs.status), 11);
    res->set(bhttp::field::server, "runbook");
    res->set(bhttp::field::content_type, rs.content_type);
    res->set(bhttp::field::cache_control, "no-store");
    security_headers(*res, kTls);
    for (auto& [k, v] : rs.headers)
      if (header_safe(k) && header_safe(v)) res->insert(k, v);  // never a header split by data
    res->body() = rs.body;
    res->keep_alive(keep);
    res->prepare_payload();
    tcp_().expires_after(srv_->opts.write_timeout);
    bhttp::async_write(stream_, *res, [self = this->shared_from_this(), res, keep, drain](beast::error_code ec, size_t) {
      if (ec) return self->shut();
      if (drain) return self->drain();
      if (keep) return self->read();
      self->shut();
    });
  }

  // After refusing a body: stop sending, read what the client still sends for at most
  // 2 s (so it sees the refusal instead of a reset), then close.
  void drain() {
    if constexpr (kTls) {
      return shut();
    } else {
      beast::error_code ec;
      tcp_().socket().shutdown(tcp::socket::shutdown_send, ec);
      drain_until_ = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      drain_more();
    }
  }
  void drain_more() {
    auto left = drain_until_ - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return shut();
    tcp_().expires_after(std::chrono::duration_cast<std::chrono::milliseconds>(left));
    tcp_().async_read_some(asio::buffer(sink_), [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->shut();
      self->drain_more();
    });
  }

  // The connection becomes an event stream: the status line and headers, then the
  // handler's stream sends; the body ends when the connection does (Connection: close).
  void start_stream(const Outcome& out) {
    std::string head = fmt::format("HTTP/1.1 {} {}\r\nServer: runbook\r\nContent-Type: {}\r\nCache-Control: no-store\r\n"
                                   "X-Accel-Buffering: no\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n",
                                   out.response.status, reason_of(out.response.status), out.response.content_type);
    for (auto& [k, v] : out.response.headers)
      if (header_safe(k) && header_safe(v)) head += k + ": " + v + "\r\n";
    head += "\r\n";
    tcp_().expires_never();
    streaming_ = true;
    send(std::move(head));
    watch_close();
    out.stream(this->shared_from_this());
  }

  // A stream's client sends nothing more: the socket turning readable means it closed
  // (or misbehaves); either way the stream ends. Waits on the raw socket, outside the
  // stream's timers, so a write timeout never cuts this wait and vice versa.
  void watch_close() {
    tcp_().socket().async_wait(tcp::socket::wait_read,
                               [self = this->shared_from_this()](beast::error_code) { self->shut(); });
  }

  void write_next() {
    writing_ = true;
    tcp_().expires_after(srv_->opts.write_timeout);
    asio::async_write(stream_, asio::buffer(out_.front()), [self = this->shared_from_this()](beast::error_code ec, size_t) {
      // Closed meanwhile (a write may still complete after it): the queue goes now that
      // no write refers to it.
      if (ec || self->closed_) {
        self->writing_ = false;
        self->out_.clear();
        self->queued_ = 0;
        return self->shut();
      }
      self->queued_ -= self->out_.front().size();
      self->out_.pop_front();
      if (self->out_.empty()) {
        self->writing_ = false;
        self->tcp_().expires_never();
        return;
      }
      self->write_next();
    });
  }

  void shut() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ec;
    tcp_().socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp_().close();
    if (!writing_) {  // else the pending write's handler drops the queue (its buffer is in use)
      out_.clear();
      queued_ = 0;
    }
    if (streaming_ && on_close) {
      auto cb = std::move(on_close);
      on_close = nullptr;
      asio::post(srv_->io, std::move(cb));
    }
  }

  std::shared_ptr<HttpServer::Impl> srv_;
  Stream stream_;
  beast::flat_buffer buf_;  // bounded by the parser's header and body limits
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::string peer_;
  std::deque<std::string> out_;
  size_t queued_ = 0;
  bool writing_ = false, closed_ = false, streaming_ = false;
  std::chrono::steady_clock::time_point drain_until_;
  std::array<char, 16384> sink_{};
};

}  // namespace

void HttpServer::Impl::accept() {
  acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket sock) {
    if (self->stopped) return;
    if (!ec) {
      bool busy = self->open >= self->opts.max_connections;
      if (self->tls) {
        auto c = std::make_shared<Conn<beast::ssl_stream<beast::tcp_stream>>>(self, std::move(sock), *self->tls);
        if (busy) c->close();
        else c->start();
      } else {
        auto c = std::make_shared<Conn<beast::tcp_stream>>(self, std::move(sock));
        if (busy) c->refuse_busy();
        else c->start();
      }
    } else if (ec == asio::error::operation_aborted) {
      return;
    } else {
      // EMFILE and the like: accepting again at once would spin the loop; the connections
      // open now close in time and free what is missing.
      self->backoff.expires_after(std::chrono::milliseconds(100));
      self->backoff.async_wait([self](beast::error_code e) {
        if (!e && !self->stopped) self->accept();
      });
      return;
    }
    self->accept();
  });
}

HttpServer::HttpServer(asio::io_context& io, Handler handler) : impl_(std::make_shared<Impl>(io, std::move(handler))) {}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::listen(const HttpOptions& o) {
  Impl& m = *impl_;
  m.opts = o;
  if (!o.tls_cert.empty()) {
    m.tls = std::make_unique<ssl::context>(ssl::context::tls_server);
    m.tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    beast::error_code ec;
    m.tls->use_certificate_chain_file(o.tls_cert, ec);
    if (ec) return Status::Invalid(fmt::format("--tls-cert {}: {}", o.tls_cert, ec.message()));
    m.tls->use_private_key_file(o.tls_key, ssl::context::pem, ec);
    if (ec) return Status::Invalid(fmt::format("--tls-key {}: {}", o.tls_key, ec.message()));
  }
  beast::error_code ec;
  auto addr = asio::ip::make_address(o.host, ec);
  if (ec) return Status::Invalid(fmt::format("--listen: '{}' is not an IP address", o.host));
  tcp::endpoint ep(addr, static_cast<unsigned short>(o.port));
  m.acceptor.open(ep.protocol(), ec);
  if (!ec) m.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) m.acceptor.bind(ep, ec);
  if (!ec) m.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Error(fmt::format("cannot listen on {}:{}: {}", o.host, o.port, ec.message()));
  m.accept();
  return Status::OK();
}

int HttpServer::port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void HttpServer::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  beast::error_code ec;
  impl_->acceptor.close(ec);
  impl_->backoff.cancel();
}

size_t HttpServer::connections() const { return impl_->open; }

}  // namespace rb::serve
