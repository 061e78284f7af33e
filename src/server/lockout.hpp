// Liveness lockout of the service: after repeated failed liveness checks, the subject checked and
// the API key asking are locked out for a while, on every node (the counts live in the store).
//
// Why both: a subject lockout stops an impostor retrying spoofs of one victim (as AWS does for a
// device: 5 failures in 3 minutes); a key lockout stops the API from being used as an oracle to
// tune a spoof (any subject, or none), at a threshold wide enough for an operator's honest
// failures (a 1-in-16 false rejection rate over busy traffic).
//
// Thread safety: every member function may be called concurrently (one store connection, locked).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "faceproof/store.hpp"

namespace faceproof::server {

class LivenessLockout {
public:
    // A rule with failures <= 0 is off.
    LivenessLockout(std::unique_ptr<Store> store, LockoutRule subject_rule, LockoutRule key_rule);

    // Seconds until the caller may try again (0 = now): the longest lockout in force of the key
    // and, when subject is not empty, of tenant/subject.
    int locked_for(const std::string& key_id, const std::string& tenant, const std::string& subject);
    // One liveness decision: a failure counts against both; a success clears the subject's count.
    void record(const std::string& key_id, const std::string& tenant, const std::string& subject, bool live);

private:
    std::mutex mutex_;
    std::unique_ptr<Store> store_;
    const LockoutRule subject_rule_, key_rule_;
};

}  // namespace faceproof::server
