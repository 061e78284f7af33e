// The HTTP controller of `faceproof serve` (cpp-httplib behind the connection guard): routes to the
// proofing and registry services, authentication, the one place where errors become JSON error
// responses, metrics per route, static files of the web page. It also builds the service: the
// models, the registry with the data key, the workers, the lockout.
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <thread>

#include "faceproof/error.hpp"
#include "faceproof/server.hpp"
#include "report/json_report.hpp"
#include "server/connection_guard.hpp"
#include "faceproof/crypto.hpp"
#include "server/auth.hpp"
#include <sodium.h>

#include "server/liveness_session_service.hpp"
#include "server/lockout.hpp"
#include "server/proofing_service.hpp"
#include "server/registry_service.hpp"
#include "server/retry_later.hpp"
#include "server/workers.hpp"
#include "util/data_dir.hpp"
#include "server/web_assets.hpp"

namespace faceproof {
namespace {

using server::ProofingService;
using server::RegistryService;
using server::Reply;
using server::RequestBody;

int http_status_for(ErrorCode code) {
    switch (code) {
        case ErrorCode::invalid_argument:
        case ErrorCode::template_invalid: return 400;
        case ErrorCode::unauthorized: return 401;
        case ErrorCode::forbidden: return 403;
        case ErrorCode::not_found: return 404;
        case ErrorCode::conflict:
        case ErrorCode::face_mismatch: return 409;
        case ErrorCode::expired: return 410;
        case ErrorCode::image_too_large: return 413;
        case ErrorCode::unsupported_media_type: return 415;
        case ErrorCode::image_unreadable:
        case ErrorCode::no_face:
        case ErrorCode::consent_invalid:
        case ErrorCode::template_mismatch:
        case ErrorCode::document_malformed: return 422;
        case ErrorCode::rate_limited: return 429;
        case ErrorCode::overloaded:
        case ErrorCode::store_error: return 503;  // the database did not answer: retry later
        default: return 500;
    }
}

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
    res.status = status;
    res.set_header("Cache-Control", "no-store");
    // Messages may quote what a client sent: invalid UTF-8 is replaced, never a failed response.
    res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

const char* reason_phrase(int status) {
    switch (status) {
        case 400: return "Bad Request";
        case 410: return "Gone";
        case 413: return "Payload Too Large";
        case 429: return "Too Many Requests";
        case 503: return "Service Unavailable";
        default: return "Error";
    }
}

int retry_after_for(const Error& e) {
    if (const auto* retry = dynamic_cast<const server::RetryLater*>(&e)) return retry->seconds();
    return e.code() == ErrorCode::overloaded || e.code() == ErrorCode::store_error ? 1 : 0;
}

// The one place an error becomes an HTTP response: through httplib, or as the raw bytes written to
// a connection refused before httplib reads it (connection_guard.hpp).
void send_error(httplib::Response& res, const Error& e) {
    if (const int seconds = retry_after_for(e)) res.set_header("Retry-After", std::to_string(seconds));
    send_json(res, http_status_for(e.code()), {{"error", error_json(e)}});
}
std::string raw_error_response(const Error& e) {
    const std::string body =
        nlohmann::json{{"error", error_json(e)}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    const int status = http_status_for(e.code());
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) +
                      "\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nConnection: close\r\n";
    if (const int seconds = retry_after_for(e)) out += "Retry-After: " + std::to_string(seconds) + "\r\n";
    return out + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// What httplib answers by itself (no route, malformed request, body too large) gets the same shape.
Error error_for_status(int status, const httplib::Request& req) {
    switch (status) {
        case 404: return Error(ErrorCode::not_found, "no route " + req.method + " " + req.path);
        case 405: return Error(ErrorCode::invalid_argument, "method " + req.method + " not allowed on " + req.path);
        case 413: return Error(ErrorCode::image_too_large, "the request body is larger than the server accepts");
        case 415: return Error(ErrorCode::unsupported_media_type, "unsupported content type");
        case 503: return Error(ErrorCode::overloaded, "the server is busy");
        default:
            if (status >= 500) return Error(ErrorCode::internal, "internal error");
            return Error(ErrorCode::invalid_argument, "malformed request");
    }
}

const char* content_type_for(const std::string& path) {
    auto ends = [&](const char* ext) { return path.size() >= std::strlen(ext) && path.ends_with(ext); };
    if (ends(".html")) return "text/html; charset=utf-8";
    if (ends(".js")) return "text/javascript; charset=utf-8";
    if (ends(".css")) return "text/css; charset=utf-8";
    if (ends(".json")) return "application/json";
    if (ends(".svg")) return "image/svg+xml";
    if (ends(".png")) return "image/png";
    return "application/octet-stream";
}

// open: anyone; key: an API key; session: an API key or a liveness session's client token.
enum class Access { open, key, session };

class HttpServer final : public Server {
public:
    explicit HttpServer(const ServerConfig& config)
        : config_(config),
          url_(Store::resolve_url(config.db)),
          models_(ModelSet::open(resolve_model_dir(config.models_dir))),
          registry_(open_registry(config, url_)),
          auth_(Store::open(url_), config.rate_limit_per_minute),
          lockout_(Store::open(url_), rule(config.lockout_failures, config.lockout_window_s, config.lockout_s),
                   rule(config.key_lockout_failures, config.key_lockout_window_s, config.key_lockout_s)),
          workers_(models_, config.workers, config.queue, metrics_),
          sessions_(config_, Store::open(url_), session_key(config), workers_, *registry_, lockout_),
          proofing_(config_, workers_, *registry_, lockout_, metrics_, sessions_),
          registry_service_(config_, workers_, *registry_, metrics_, !Store::open(url_)->erase_deleted()),
          http_(connection_limits(config), raw_error_response) {
        http_.set_payload_max_length(config.max_body_bytes);
        http_.set_keep_alive_max_count(100);
        install_routes();
        const bool bound = config.port == 0 ? (port_ = http_.bind_to_any_port(config.host)) > 0
                                            : http_.bind_to_port(config.host, port_ = config.port);
        if (!bound)
            throw Error(ErrorCode::io_error, "cannot listen on " + config.host + ":" + std::to_string(config.port) +
                                                 " (address in use or not available)");
    }

    void run() override {
        std::thread syncer([this] { sync_loop(); });
        ready_ = true;
        http_.listen_after_bind();
        {
            std::lock_guard lock(stop_mutex_);
            stopping_ = true;
        }
        stop_cv_.notify_all();
        syncer.join();
        ready_ = false;
        save_snapshots("at shutdown");
    }
    void stop() override { http_.stop(); }
    int port() const override { return port_; }
    bool ready() const override { return ready_ && http_.is_running(); }

private:
    // principal: the API key's, or null (open routes; a session route called with a client token,
    // which is then in caller.client_token).
    using Handler = std::function<Reply(const httplib::Request&, const ApiPrincipal*)>;
    using SessionHandler = std::function<Reply(const httplib::Request&, const server::SessionCaller&)>;

    static LockoutRule rule(int failures, int window_s, int lock_s) {
        return {failures, std::int64_t{window_s} * 1000, std::int64_t{lock_s} * 1000};
    }

    // The data key: the configured one, else the default key file, created on first start so that
    // `faceproof serve` works out of the box on the embedded store.
    static std::vector<DataKey> load_keys(const ServerConfig& c) {
        std::vector<DataKey> keys;
        if (!DataKey::configured(c.key_file)) {
            const auto file = DataKey::default_file();
            if (file.empty()) return keys;  // no HOME: enrolment will say how to give a key
            create_private_directories(file.parent_path());  // 0700: it holds the key (and the default store)
            DataKey::generate_file(file);
            std::cerr << "faceproof serve: created the data key " << file.string()
                      << " (mode 0600); back it up, and keep it apart from the database where you can\n";
        }
        keys.push_back(DataKey::from_environment_or_file(c.key_file));
        return keys;
    }

    // The key that seals a session's best frame until a verification takes it: the data key (every
    // node has it, so any node can finish a session); without one (no HOME, nothing configured),
    // a key of this process — sessions then have to be finished on the node that captured them.
    static DataKey session_key(const ServerConfig& c) {
        try {
            return DataKey::from_environment_or_file(c.key_file);
        } catch (const Error&) {
            ensure_sodium();
            std::vector<std::uint8_t> bytes(DataKey::kSize);
            randombytes_buf(bytes.data(), bytes.size());
            DataKey key = DataKey::from_bytes(bytes);
            sodium_memzero(bytes.data(), bytes.size());
            return key;
        }
    }

    static std::unique_ptr<Registry> open_registry(const ServerConfig& c, const std::string& url) {
        RegistryOptions options;
        options.retain_images = c.retain_images;
        options.index.threads = 1;  // requests already run in parallel; one search, one core
        options.index.keep_full_precision = c.gallery_keep_full_precision;
        options.index.exact_budget_ms = c.gallery_exact_budget_ms;
        if (c.gallery_snapshot_dir) options.snapshot_directory = *c.gallery_snapshot_dir;
        return Registry::open(Store::open(url), load_keys(c), Calibration::shipped(), options);
    }

    static server::ConnectionLimits connection_limits(const ServerConfig& c) {
        server::ConnectionLimits limits;
        limits.max_connections = c.max_connections;
        limits.max_connections_per_address = c.max_connections_per_address;
        limits.header_timeout_s = c.header_timeout_s;
        limits.body_min_rate_bytes_per_s = c.body_min_rate_bytes_per_s;
        limits.keep_alive_s = c.keep_alive_s;
        limits.write_timeout_s = c.request_timeout_s;
        limits.max_inflight_body_bytes = c.max_inflight_body_bytes;
        return limits;
    }

    // Every route goes through here: timing, authentication, errors, metrics.
    void route(const std::string& method, const std::string& pattern, const std::string& label, Access access,
               Handler handler) {
        route(method, pattern, label, access, SessionHandler([handler](const httplib::Request& req,
                                                                       const server::SessionCaller& caller) {
                  return handler(req, caller.principal);
              }));
    }

    void route(const std::string& method, const std::string& pattern, const std::string& label, Access access,
               SessionHandler handler) {
        auto wrapped = [this, method, label, access, handler](const httplib::Request& req, httplib::Response& res) {
            const auto start = std::chrono::steady_clock::now();
            try {
                std::optional<ApiPrincipal> principal;
                server::SessionCaller caller;
                const std::string authorization = req.get_header_value("Authorization");
                const std::string session_token = std::string("Bearer ") + server::kSessionTokenPrefix;
                if (access == Access::session && authorization.starts_with(session_token)) {
                    caller.client_token = authorization.substr(std::strlen("Bearer "));
                } else if (access != Access::open) {
                    principal = auth_.authenticate(authorization);
                    caller.principal = &*principal;
                }
                const Reply reply = handler(req, caller);
                send_json(res, reply.status, reply.body);
            } catch (const Error& e) {
                send_error(res, e);
            } catch (const std::bad_alloc&) {
                send_error(res, Error(ErrorCode::image_too_large, "out of memory for this request"));
            } catch (const std::exception& e) {
                send_error(res, Error(ErrorCode::internal, e.what()));
            }
            metrics_.observe_request(
                label, method, res.status, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        };
        if (method == "GET") http_.Get(pattern, wrapped);
        else if (method == "POST") http_.Post(pattern, wrapped);
        else if (method == "DELETE") http_.Delete(pattern, wrapped);
    }

    void install_routes() {
        auto body = [](const httplib::Request& req) { return RequestBody::parse(req); };
        route("POST", "/v1/verify", "/v1/verify", Access::session,
              SessionHandler([&, body](const auto& req, const server::SessionCaller& caller) {
                  return proofing_.verify(caller, body(req));
              }));
        route("POST", "/v1/liveness/sessions", "/v1/liveness/sessions", Access::key,
              [&, body](const auto& req, const ApiPrincipal* p) { return sessions_.create(*p, body(req)); });
        route("GET", R"(/v1/liveness/sessions/([^/]+))", "/v1/liveness/sessions/{id}", Access::session,
              SessionHandler([&](const auto& req, const server::SessionCaller& caller) {
                  return sessions_.status(caller, req.matches[1].str());
              }));
        route("POST", R"(/v1/liveness/sessions/([^/]+)/capture)", "/v1/liveness/sessions/{id}/capture", Access::session,
              SessionHandler([&, body](const auto& req, const server::SessionCaller& caller) {
                  return sessions_.capture(caller, req.matches[1].str(), body(req));
              }));
        route("POST", "/v1/detect", "/v1/detect", Access::key,
              [&, body](const auto& req, const ApiPrincipal* p) { return proofing_.detect(*p, body(req)); });
        route("POST", "/v1/quality", "/v1/quality", Access::key,
              [&, body](const auto& req, const ApiPrincipal* p) { return proofing_.quality(*p, body(req)); });
        route("POST", "/v1/liveness", "/v1/liveness", Access::key,
              [&, body](const auto& req, const ApiPrincipal* p) { return proofing_.liveness(*p, body(req)); });
        route("POST", "/v1/documents/check", "/v1/documents/check", Access::key,
              [&, body](const auto& req, const ApiPrincipal* p) { return proofing_.check_document(*p, body(req)); });
        route("POST", "/v1/subjects", "/v1/subjects", Access::key,
              [&, body](const auto& req, const ApiPrincipal* p) { return registry_service_.enrol(*p, body(req)); });
        route("POST", R"(/v1/subjects/([^/]+)/templates)", "/v1/subjects/{ref}/templates", Access::key,
              [&, body](const auto& req, const ApiPrincipal* p) {
                  return registry_service_.add_templates(*p, req.matches[1].str(), body(req));
              });
        route("GET", R"(/v1/subjects/([^/]+))", "/v1/subjects/{ref}", Access::key,
              [&](const auto& req, const ApiPrincipal* p) { return registry_service_.subject(*p, req.matches[1].str()); });
        route("DELETE", R"(/v1/subjects/([^/]+))", "/v1/subjects/{ref}", Access::key,
              [&](const auto& req, const ApiPrincipal* p) { return registry_service_.remove(*p, req.matches[1].str()); });
        route("POST", "/v1/search", "/v1/search", Access::key,
              [&, body](const auto& req, const ApiPrincipal* p) { return registry_service_.search(*p, body(req)); });
        route("GET", "/v1/audit", "/v1/audit", Access::key, [&](const httplib::Request& req, const ApiPrincipal* p) {
            return registry_service_.audit(*p, integer_param(req, "after", 0), integer_param(req, "limit", 100));
        });
        route("GET", "/healthz", "/healthz", Access::open, [](const auto&, const ApiPrincipal*) {
            return Reply{200, {{"status", "ok"}}};
        });
        route("GET", "/readyz", "/readyz", Access::open, [&](const auto&, const ApiPrincipal*) {
            if (!auth_.ready()) throw Error(ErrorCode::overloaded, "the database does not answer");
            return Reply{200, {{"status", "ready"}}};
        });
        route("GET", "/v1/openapi.json", "/v1/openapi.json", Access::open, [](const auto&, const ApiPrincipal*) {
            return Reply{200, nlohmann::json::parse(server::openapi_json())};
        });
        http_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
            const server::ConnectionStats connections = http_.stats();
            metrics_.set_connections(connections.open, connections.refused, connections.timed_out);
            res.set_content(metrics_.render(), "text/plain; version=0.0.4");
            metrics_.observe_request("/metrics", "GET", 200, 0);
        });
        for (const auto& asset : server::web_assets()) {
            const std::string path = asset.path == "index.html" ? "/" : "/" + std::string(asset.path);
            http_.Get(path, [this, asset](const httplib::Request&, httplib::Response& res) {
                res.set_header("Content-Security-Policy",
                               "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: mediastream:; "
                               "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
                res.set_header("X-Content-Type-Options", "nosniff");
                res.set_header("Referrer-Policy", "no-referrer");
                res.set_header("Permissions-Policy", "camera=(self)");
                res.set_content(std::string(asset.content), content_type_for(std::string(asset.path)));
                metrics_.observe_request("/{static}", "GET", 200, 0);
            });
        }
        // A request the connection layer refused (in-flight body budget) is answered before its
        // body is read; the connection closes after the answer.
        http_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
            const std::optional<Error> refusal = http_.refusal_for_current_request();
            if (!refusal) return httplib::Server::HandlerResponse::Unhandled;
            send_error(res, *refusal);
            res.set_header("Connection", "close");
            metrics_.observe_request("refused", req.method, res.status, 0);
            return httplib::Server::HandlerResponse::Handled;
        });
        // Anything httplib answers by itself becomes the same JSON error shape.
        http_.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req,
                                                                            httplib::Response& res) {
            if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // ours already
            const int status = res.status;
            send_error(res, error_for_status(status, req));
            res.status = status;
            metrics_.observe_request("unmatched", req.method, status, 0);
            return httplib::Server::HandlerResponse::Handled;
        }));
        http_.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
            send_error(res, Error(ErrorCode::internal, "internal error"));
        });
    }

    static std::int64_t integer_param(const httplib::Request& req, const char* name, std::int64_t fallback) {
        if (!req.has_param(name)) return fallback;
        const std::string v = req.get_param_value(name);
        std::size_t used = 0;
        std::int64_t n = 0;
        try {
            n = std::stoll(v, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used == 0 || used != v.size())
            throw Error(ErrorCode::invalid_argument, std::string("query parameter ") + name + " must be an integer");
        return n;
    }

    void sync_loop() {
        const auto interval = std::chrono::duration<double>(config_.sync_interval_s);
        const auto snapshot_interval = std::chrono::duration<double>(config_.gallery_snapshot_interval_s);
        auto last_snapshot = std::chrono::steady_clock::now();
        std::unique_lock lock(stop_mutex_);
        while (!stop_cv_.wait_for(lock, interval, [&] { return stopping_; })) {
            lock.unlock();
            try {
                registry_service_.maintain();
            } catch (const std::exception& e) {
                // A database hiccup must not stop the node; the next round retries.
                std::cerr << "faceproof serve: change feed: " << e.what() << '\n';
            }
            // Fresh snapshots keep the feed a restarted node replays short.
            if (config_.gallery_snapshot_dir && std::chrono::steady_clock::now() - last_snapshot >= snapshot_interval) {
                last_snapshot = std::chrono::steady_clock::now();
                save_snapshots("periodic");
            }
            lock.lock();
        }
    }

    void save_snapshots(const char* when) {
        if (!config_.gallery_snapshot_dir) return;
        try {
            registry_->save_snapshots();
        } catch (const std::exception& e) {
            std::cerr << "faceproof serve: index snapshots (" << when << "): " << e.what() << '\n';
        }
    }

    // Built in this order; the services use what comes before them.
    ServerConfig config_;
    std::string url_;
    server::Metrics metrics_;
    std::shared_ptr<const ModelSet> models_;
    std::unique_ptr<Registry> registry_;
    server::Authenticator auth_;
    server::LivenessLockout lockout_;
    server::Workers workers_;
    server::LivenessSessionService sessions_;
    ProofingService proofing_;
    RegistryService registry_service_;
    server::GuardedHttpServer http_;
    int port_ = 0;
    std::atomic<bool> ready_{false};
    std::mutex stop_mutex_;
    std::condition_variable stop_cv_;
    bool stopping_ = false;
};

}  // namespace

std::unique_ptr<Server> Server::create(const ServerConfig& config) {
    config.check();
    return std::make_unique<HttpServer>(config);
}

}  // namespace faceproof
