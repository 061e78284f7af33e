// faceproof — the HTTP service: REST API v1, the web capture page, health and metrics.
//
// Layering (controller -> service -> store): src/server/http_server.cpp maps routes and turns
// every Error into one JSON error response; src/server/proofing_service.cpp decides (pipelines,
// registry, API keys, limits); the Registry and Store keep the data.
//
// Admission: at most `workers` requests run the face pipeline at once (one pipeline per worker,
// OpenCV nets are not reentrant); up to `queue` more wait; beyond that the answer is 503 with
// Retry-After instead of piling up.
//
// Thread safety: run() blocks the calling thread serving requests; stop() may be called from any
// thread (e.g. a signal watcher) and makes run() return after in-flight requests finish.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "faceproof/image.hpp"

namespace faceproof {

struct ServerConfig {
    std::string host = "127.0.0.1";
    int port = 8080;                         // 0 = any free port (see Server::port)
    std::string db;                          // store URL; empty = $FACEPROOF_DB, else "sqlite:"
    std::optional<std::filesystem::path> key_file;    // data key; empty = $FACEPROOF_KEY_FILE
    std::optional<std::filesystem::path> models_dir;  // empty = the default model directory
    int workers = 0;                         // pipelines; 0 = one per core
    int queue = -1;                          // waiting requests beyond the workers; -1 = 2 x workers
    std::size_t max_body_bytes = 40u << 20;  // whole request body
    ImageLimits image_limits;                // per image (bytes, pixels, side)
    int request_timeout_s = 30;              // socket read/write timeout
    int rate_limit_per_minute = 600;         // per API key
    int lockout_failures = 5;                // failed liveness checks of one subject ...
    int lockout_window_s = 180;              // ... within this window ...
    int lockout_s = 900;                     // ... lock the subject out this long
    bool retain_images = false;              // keep enrolment images (sealed); off unless asked
    double sync_interval_s = 0.25;           // how often the change feed is read (several nodes)

    // A JSON object with any of the keys above (same names; image limits as "max_image_bytes",
    // "max_image_pixels", "max_image_side"). Unknown keys are an error (typos must not pass).
    static ServerConfig from_file(const std::filesystem::path& file);
    // The same from the file's text; origin names the source in error messages (from_file passes
    // the path).
    static ServerConfig from_json_text(const std::string& text, const std::string& origin);
};

class Server {
public:
    virtual ~Server() = default;
    // Serves until stop(). throws Error{io_error} when the address cannot be bound.
    virtual void run() = 0;
    virtual void stop() = 0;
    // The bound port (after bind; valid once ready() is true or run() started with a fixed port).
    virtual int port() const = 0;
    virtual bool ready() const = 0;

    // Opens the store, the data key and the models; binds the listening socket.
    static std::unique_ptr<Server> create(const ServerConfig& config);
};

}  // namespace faceproof
