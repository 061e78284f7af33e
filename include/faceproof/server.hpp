// faceproof — the HTTP service: REST API v1, the web capture page, health and metrics.
//
// Layering (controller -> service -> store): src/server/http_server.cpp maps routes and turns
// every Error into one JSON error response; src/server/proofing_service.cpp decides (pipelines,
// registry, API keys, limits); the Registry and Store keep the data.
//
// Admission: at most `workers` requests run the face pipeline at once (one pipeline per worker,
// networks are not reentrant); up to `queue` more wait; beyond that the answer is 503 with
// Retry-After instead of piling up. A request's images are counted and their headers checked
// against the per-image limits and the per-request decoding budget first (400/413 at once); they
// are decoded only inside a worker's slot, and only those the request uses. Connections are
// served by threads of their own, with deadlines (src/server/connection_guard.hpp).
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
    std::size_t max_body_bytes = 24u << 20;  // whole request body
    ImageLimits image_limits;                // per image (bytes, pixels, side)
    // What one request's images may decode to together (8-bit BGR bytes, from their headers),
    // checked before any is decoded: 192 MiB holds two 24 Mpx images, or a 12 Mpx ID photo and 16
    // webcam frames, with room to spare.
    std::size_t max_request_decoded_bytes = std::size_t{192} << 20;
    int request_timeout_s = 30;              // writing one response
    // Connections (src/server/connection_guard.hpp): open at once, from one client address; the
    // request line and headers must arrive within header_timeout_s, the body at least at
    // body_min_rate_bytes_per_s; idle keep-alive connections close after keep_alive_s; request
    // bodies being received at once may hold max_inflight_body_bytes.
    int max_connections = 256;
    int max_connections_per_address = 32;
    double header_timeout_s = 10;
    double body_min_rate_bytes_per_s = 64 * 1024;
    double keep_alive_s = 5;
    std::size_t max_inflight_body_bytes = std::size_t{512} << 20;
    int rate_limit_per_minute = 600;         // per API key
    // Failed liveness checks (verify or /v1/liveness) lock out, on every node (kept in the store):
    // a subject after lockout_failures within lockout_window_s, for lockout_s (a success clears
    // the count); an API key after key_lockout_failures within key_lockout_window_s, for
    // key_lockout_s (successes do not clear it: the key is how an attacker tunes a spoof).
    // 0 failures = off.
    int lockout_failures = 5;
    int lockout_window_s = 180;
    int lockout_s = 900;
    int key_lockout_failures = 50;
    int key_lockout_window_s = 600;
    int key_lockout_s = 900;
    bool retain_images = false;              // keep enrolment images (sealed); off unless asked
    // CSCA trust store of document checks (POST /v1/documents/check, documents in /v1/verify): a
    // file or directory of CSCA certificates, master lists and CRLs; without it those are refused.
    std::optional<std::filesystem::path> trust_store;
    double sync_interval_s = 0.25;           // how often the change feed is read (several nodes)
    // PostgreSQL only: deletions through the API are compacted away (VACUUM FULL, which locks the
    // tables while it runs) this long after the first of them, once for all made meanwhile.
    // SQLite needs no delay: each deletion checkpoints its write-ahead log at once.
    double compaction_delay_s = 60;
    // Challenge-liveness sessions (POST /v1/liveness/sessions): a session must be captured within
    // this many seconds of its creation, with at most this many frames (8 fps or more).
    int liveness_session_ttl_s = 60;
    int liveness_session_max_frames = 120;
    // 1:N index of each tenant (README "1:N duplicate check"). gallery_snapshot_dir: this node's
    // directory of sealed index snapshots (must exist; none = rebuild from the store on start);
    // snapshots are also written every gallery_snapshot_interval_s and at shutdown.
    // gallery_keep_full_precision false keeps only the int8 codes in memory (the few candidates a
    // search re-scores are read from the store). gallery_exact_budget_ms > 0: switch to the HNSW graph
    // once a measured exact scan takes longer (and the gallery has 50,000 templates or more).
    std::optional<std::filesystem::path> gallery_snapshot_dir;
    double gallery_snapshot_interval_s = 600;
    bool gallery_keep_full_precision = true;
    double gallery_exact_budget_ms = 0;

    // A JSON object with any of the keys above (same names; image limits as "max_image_bytes",
    // "max_image_pixels", "max_image_side"). Unknown keys are an error (typos must not pass).
    // The file must be a regular file of at most 64 KiB (input_limit::server_config): anything else
    // (missing, a FIFO, /dev/zero, too large) is Error{io_error}, refused without blocking or reading.
    static ServerConfig from_file(const std::filesystem::path& file);
    // Error{invalid_argument} naming the first setting out of its range (Server::create checks too).
    void check() const;
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
