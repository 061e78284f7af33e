// The registry routes of `faceproof serve`: consent-based enrolment, adding templates, the 1:N
// search, reading and deleting subjects, the audit trail; and the node's periodic work (the change
// feed; on PostgreSQL the compaction of API deletions). Captures are analysed on a worker
// (workers.hpp); the Registry decides and stores. HTTP stays in the controller (server.cpp).
// Thread safety: every member function may be called concurrently.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>

#include "faceproof/api_keys.hpp"
#include "faceproof/registry.hpp"
#include "faceproof/server.hpp"
#include "server/metrics.hpp"
#include "server/proofing_service.hpp"  // Reply
#include "server/request_body.hpp"
#include "server/workers.hpp"

namespace faceproof::server {

class RegistryService {
public:
    // compacts_later: the store cannot erase deleted bytes per deletion (PostgreSQL); they are
    // compacted config.compaction_delay_s after the first deletion pending.
    RegistryService(const ServerConfig& config, Workers& workers, Registry& registry, Metrics& metrics,
                    bool compacts_later);

    Reply enrol(const ApiPrincipal& p, const RequestBody& body);
    Reply add_templates(const ApiPrincipal& p, const std::string& reference, const RequestBody& body);
    Reply subject(const ApiPrincipal& p, const std::string& reference);
    Reply remove(const ApiPrincipal& p, const std::string& reference);
    Reply search(const ApiPrincipal& p, const RequestBody& body);
    Reply audit(const ApiPrincipal& p, std::int64_t after, std::int64_t limit);

    // Periodic (every sync_interval_s): other nodes' changes into the indexes, pending compaction.
    void maintain();

private:
    std::vector<Capture> captures(const RequestBody& body);

    const ServerConfig& config_;
    Workers& workers_;
    Registry& registry_;
    Metrics& metrics_;
    const bool compacts_later_;
    std::mutex compaction_mutex_;
    std::optional<std::chrono::steady_clock::time_point> first_pending_deletion_;
};

}  // namespace faceproof::server
