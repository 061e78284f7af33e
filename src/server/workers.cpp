#include "server/workers.hpp"

#include <thread>

#include "faceproof/liveness.hpp"
#include "server/retry_later.hpp"

namespace faceproof::server {

Workers::Workers(std::shared_ptr<const ModelSet> models, int workers, int queue, Metrics& metrics)
    : metrics_(metrics) {
    const int n = workers > 0 ? workers : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    std::vector<std::unique_ptr<IdentityVerifier>> items;
    for (int i = 0; i < n; ++i)
        items.push_back(IdentityVerifier::create(models, Calibration::shipped(), LivenessCalibration::shipped()));
    pool_ = std::make_unique<Pool<IdentityVerifier>>(std::move(items), queue >= 0 ? queue : 2 * n);
    metrics_.set_queue(0, 0, n);
}

std::unique_ptr<Workers::Lease> Workers::lease() {
    auto lease = pool_->acquire();
    if (!lease) throw RetryLater(ErrorCode::overloaded, "every worker is busy and the queue is full", 1);
    metrics_.set_queue(pool_->waiting(), pool_->busy(), pool_->size());
    return lease;
}

}  // namespace faceproof::server
