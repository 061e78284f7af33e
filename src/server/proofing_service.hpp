// The proofing routes of `faceproof serve`: 1:1 verification, detection, quality and liveness.
// Each request's images are counted and budgeted first (request_images.hpp), then decoded and
// analysed on a worker (workers.hpp); liveness failures count towards the lockout (lockout.hpp);
// decisions are audited through the registry (record_verification). Documents are checked against
// the trust store loaded at start (config trust_store), never one from the request. Speaks faceproof types and
// JSON results; HTTP stays in the controller (server.cpp).
// Thread safety: every member function may be called concurrently.
#pragma once

#include <nlohmann/json.hpp>

#include "faceproof/api_keys.hpp"
#include "faceproof/document.hpp"
#include "faceproof/registry.hpp"
#include "faceproof/server.hpp"
#include "server/lockout.hpp"
#include "server/metrics.hpp"
#include "server/request_body.hpp"
#include "server/workers.hpp"

namespace faceproof::server {

struct Reply {
    int status = 200;
    nlohmann::json body;
};

class LivenessSessionService;
struct SessionCaller;

class ProofingService {
public:
    ProofingService(const ServerConfig& config, Workers& workers, Registry& registry, LivenessLockout& lockout,
                    Metrics& metrics, LivenessSessionService& sessions);

    // With "liveness_session" instead of "probe" frames, the decided session's best frame is the
    // probe and its decision the liveness (once). A session's client token may call this only with
    // its own session (and no subject its session was not made for).
    Reply verify(const SessionCaller& caller, const RequestBody& body);
    Reply detect(const ApiPrincipal& p, const RequestBody& body);
    Reply quality(const ApiPrincipal& p, const RequestBody& body);
    Reply liveness(const ApiPrincipal& p, const RequestBody& body);
    // POST /v1/documents/check: the chip files sod, dg1, dg2 (dg14, dg15) of one document.
    Reply check_document(const ApiPrincipal& p, const RequestBody& body);

private:
    void check_lockout(const ApiPrincipal& p, const std::string& subject);
    // Error{invalid_argument} when the server was started without a trust store.
    void require_trust_store() const;
    // The document of a request's chip-file fields, checked now against the server's trust store.
    DocumentCheck document_of(const RequestBody& body) const;

    const ServerConfig& config_;
    Workers& workers_;
    Registry& registry_;
    LivenessLockout& lockout_;
    Metrics& metrics_;
    LivenessSessionService& sessions_;
    std::shared_ptr<const document::TrustStore> trust_store_;  // null: no trust_store configured
};

}  // namespace faceproof::server
