// The face-pipeline workers of `faceproof serve`: one IdentityVerifier — one set of networks — per
// worker, lent to one request at a time (networks are not reentrant). Up to `queue` requests wait
// for one; beyond that the answer is 503 at once instead of piling up.
// Thread safety: lease() may be called concurrently; a lease is used by one thread.
#pragma once

#include <memory>

#include "faceproof/models.hpp"
#include "faceproof/proofing.hpp"
#include "server/admission.hpp"
#include "server/metrics.hpp"

namespace faceproof::server {

class Workers {
public:
    using Lease = Pool<IdentityVerifier>::Lease;

    // workers <= 0: one per core; queue < 0: twice the workers.
    Workers(std::shared_ptr<const ModelSet> models, int workers, int queue, Metrics& metrics);

    // A worker for this request, waiting in the queue if need be. throws RetryLater{overloaded}
    // when the queue is full.
    std::unique_ptr<Lease> lease();
    int size() const { return pool_->size(); }

private:
    std::unique_ptr<Pool<IdentityVerifier>> pool_;
    Metrics& metrics_;
};

}  // namespace faceproof::server
