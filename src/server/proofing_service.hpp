// The service layer of `faceproof serve`: authenticates callers, admits work (rate limit,
// lockout, bounded pipeline queue), runs the face pipeline and the registry, audits decisions.
// It speaks faceproof types and JSON results; HTTP stays in http_server.cpp.
// Thread safety: every member function may be called concurrently.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "faceproof/api_keys.hpp"
#include "faceproof/error.hpp"
#include "faceproof/server.hpp"
#include "server/admission.hpp"
#include "server/metrics.hpp"
#include "server/request_body.hpp"

namespace faceproof::server {

// An Error that tells the client when to come back (429 / 503 with Retry-After).
class RetryLater : public Error {
public:
    RetryLater(ErrorCode code, const std::string& message, int seconds) : Error(code, message), seconds_(seconds) {}
    int seconds() const { return seconds_; }

private:
    int seconds_;
};

struct Reply {
    int status = 200;
    nlohmann::json body;
};

class ProofingService {
public:
    explicit ProofingService(const ServerConfig& config);
    ~ProofingService();

    // From an "Authorization: Bearer KEY" header value. throws Error{unauthorized} or
    // RetryLater{rate_limited}.
    ApiPrincipal authenticate(const std::string& authorization);
    static void require_admin(const ApiPrincipal& principal);  // Error{forbidden}

    Reply verify(const ApiPrincipal& p, const RequestBody& body);
    Reply detect(const ApiPrincipal& p, const RequestBody& body);
    Reply quality(const ApiPrincipal& p, const RequestBody& body);
    Reply liveness(const ApiPrincipal& p, const RequestBody& body);
    Reply enrol(const ApiPrincipal& p, const RequestBody& body);
    Reply add_templates(const ApiPrincipal& p, const std::string& reference, const RequestBody& body);
    Reply subject(const ApiPrincipal& p, const std::string& reference);
    Reply remove(const ApiPrincipal& p, const std::string& reference);
    Reply search(const ApiPrincipal& p, const RequestBody& body);
    Reply audit(const ApiPrincipal& p, std::int64_t after, std::int64_t limit);

    bool ready();
    // Periodic work (faceproof serve: every sync_interval_s): applies the store's change feed to
    // the in-memory indexes (other nodes' changes), and on PostgreSQL compacts deletions once
    // compaction_delay_s has passed since the first one pending.
    void maintain();
    Metrics& metrics() { return metrics_; }

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    Metrics metrics_;
};

}  // namespace faceproof::server
