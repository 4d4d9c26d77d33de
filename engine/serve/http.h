// The HTTP side of `runbook serve`: Boost.Beast on the engine's own Asio loop, plain or
// TLS (Asio SSL over OpenSSL). Everything Beast stays in http.cpp; the rest of the server
// sees plain request and response values, and an EventStream for server-sent events.
//
// Bounds (a slow or hostile client never holds the loop or its memory):
//   - request headers at most 16 KB (431), bodies at most 2 MB (413; the refusal is sent
//     before the body is read, then the connection drains for at most 2 s and closes);
//   - a request must arrive whole within 15 s of the previous one (slowloris), a TLS
//     handshake within 10 s, each write within 10 s: the connection is closed otherwise;
//   - at most 4096 connections; past that a new one gets a 503 and is closed;
//   - an event stream's unsent bytes at most 256 KB: a client that falls that far behind
//     is dropped.
// Every response carries nosniff, no-referrer, frame-ancestors none and the page's CSP.
//
// Threading: the loop's thread only.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace boost::asio {
class io_context;
}

namespace rb::serve {

struct Request {
  std::string method;  ///< GET, POST, …
  std::string target;  ///< as sent: path and query
  std::string path;    ///< the target before '?'
  std::map<std::string, std::string> query;  ///< percent-decoded
  std::vector<std::pair<std::string, std::string>> headers;  ///< names lowercased
  std::string body;
  std::string peer;  ///< the client's address
  bool tls = false;

  /// A header's value ("" when absent); `name` lowercase.
  std::string header(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

/// The write side of a server-sent-events stream a handler took over.
class EventStream {
 public:
  virtual ~EventStream() = default;
  /// Queues bytes for the client. False when the stream is closed, or when the client
  /// is too slow (its unsent bytes passed the bound): it is closed then.
  virtual bool send(std::string bytes) = 0;
  virtual void close() = 0;
  virtual bool closed() const = 0;
  /// Bytes queued and not yet written.
  virtual size_t queued() const = 0;
  /// Called once, on the loop, when the stream closed (either side).
  std::function<void()> on_close;
};

/// What a handler makes of a request: a response, or (with `stream` set) an event
/// stream: `response`'s status and headers are sent, then the connection is handed over.
struct Outcome {
  Response response;
  std::function<void(std::shared_ptr<EventStream>)> stream;
};
using Handler = std::function<Outcome(const Request&)>;

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8088;  ///< 0: any free port (see HttpServer::port)
  std::string tls_cert, tls_key;  ///< both or neither
  size_t max_header = 16 * 1024;
  size_t max_body = 2 * 1024 * 1024;
  size_t max_connections = 4096;
  size_t max_stream_queue = 256 * 1024;
  std::chrono::milliseconds request_timeout{15000}, write_timeout{10000};
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, Handler handler);
  ~HttpServer();
  /// Binds and starts accepting. Invalid: a bad address or TLS files; Error: the port
  /// could not be bound.
  Status listen(const HttpOptions& o);
  /// The port bound (the chosen one when asked for 0).
  int port() const;
  /// Stops accepting; open connections finish on their own.
  void stop();
  /// Connections open now.
  size_t connections() const;

  struct Impl;  ///< http.cpp's (its connections hold it)

 private:
  std::shared_ptr<Impl> impl_;
};

/// Percent-decodes a URL component ('+' as space when `form`); invalid escapes are kept.
std::string url_decode(std::string_view s, bool form = false);
/// Parses `a=1&b=2` (application/x-www-form-urlencoded, and query strings).
std::map<std::string, std::string> parse_form(std::string_view s);

}  // namespace rb::serve
