// Challenge-liveness sessions of `faceproof serve` (liveness_session.hpp has the rules):
//   create  (operator key)                    POST /v1/liveness/sessions
//   status  (the session's client token or a key of its tenant)   GET /v1/liveness/sessions/{id}
//   capture (likewise)                        POST /v1/liveness/sessions/{id}/capture
//   take_probe, for POST /v1/verify with "liveness_session": the decided session's best frame and
//   its liveness, once.
//
// The state lives in the store (any node serves any step). The challenge is drawn here, never taken
// from a client. A session is single use: the first capture moves it open -> capturing atomically,
// so a second or concurrent capture is refused (409), a late one 410, another tenant's (or an unknown
// id, or a wrong token) 404 — the same answer, so ids cannot be probed. The client token is shown
// once, stored as its SHA-256 only, and compared in constant time. The best frame is kept sealed
// with the data key until a verification takes it or the session is purged (expiry + ttl).
// Thread safety: every member function may be called concurrently (one store connection, locked).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "faceproof/api_keys.hpp"
#include "faceproof/data_key.hpp"
#include "faceproof/liveness.hpp"
#include "faceproof/registry.hpp"
#include "faceproof/server.hpp"
#include "faceproof/store.hpp"
#include "server/lockout.hpp"
#include "server/proofing_service.hpp"
#include "server/request_body.hpp"
#include "server/workers.hpp"

namespace faceproof::server {

// Client tokens start with this, so the controller tells them from API keys before any lookup.
inline constexpr const char* kSessionTokenPrefix = "fpsess_";

// Who calls a session route: an API key's principal, or a client token (one of the two).
struct SessionCaller {
    const ApiPrincipal* principal = nullptr;
    std::string client_token;
};

// What a verification takes from a decided session.
struct SessionProbe {
    std::string session_id, subject, key_id;
    std::vector<std::uint8_t> image;  // the best frame's bytes as captured
    LivenessReport liveness;          // the session's decision as a liveness report
};

class LivenessSessionService {
public:
    LivenessSessionService(const ServerConfig& config, std::unique_ptr<Store> store, DataKey key, Workers& workers,
                           Registry& registry, LivenessLockout& lockout);

    Reply create(const ApiPrincipal& p, const RequestBody& body);
    Reply status(const SessionCaller& caller, const std::string& id);
    Reply capture(const SessionCaller& caller, const std::string& id, const RequestBody& body);
    // requires: the caller may see the session. throws Error{not_found} (unknown / not the caller's),
    // Error{conflict} when it was not decided or was used already, Error{no_face} when it kept no frame.
    SessionProbe take_probe(const SessionCaller& caller, const std::string& id);

    // The tenant and creating key of a session the caller may see (for audit and lockouts).
    // throws Error{not_found} otherwise.
    LivenessSessionRecord authorised(const SessionCaller& caller, const std::string& id);

private:
    std::int64_t now_ms() const;
    void purge_expired();

    const ServerConfig& config_;
    std::mutex store_mutex_;
    std::unique_ptr<Store> store_;
    const DataKey key_;
    Workers& workers_;
    Registry& registry_;
    LivenessLockout& lockout_;
    std::int64_t last_purge_ms_ = 0;
};

}  // namespace faceproof::server
