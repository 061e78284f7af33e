// The proofing routes of `faceproof serve`: 1:1 verification, detection, quality and liveness.
// Each request's images are counted and budgeted first (request_images.hpp), then decoded and
// analysed on a worker (workers.hpp); liveness failures count towards the lockout (lockout.hpp);
// decisions are audited through the registry (record_verification). Speaks faceproof types and
// JSON results; HTTP stays in the controller (server.cpp).
// Thread safety: every member function may be called concurrently.
#pragma once

#include <nlohmann/json.hpp>

#include "faceproof/api_keys.hpp"
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

class ProofingService {
public:
    ProofingService(const ServerConfig& config, Workers& workers, Registry& registry, LivenessLockout& lockout,
                    Metrics& metrics);

    Reply verify(const ApiPrincipal& p, const RequestBody& body);
    Reply detect(const ApiPrincipal& p, const RequestBody& body);
    Reply quality(const ApiPrincipal& p, const RequestBody& body);
    Reply liveness(const ApiPrincipal& p, const RequestBody& body);

private:
    void check_lockout(const ApiPrincipal& p, const std::string& subject);

    const ServerConfig& config_;
    Workers& workers_;
    Registry& registry_;
    LivenessLockout& lockout_;
    Metrics& metrics_;
};

}  // namespace faceproof::server
