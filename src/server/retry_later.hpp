// An Error that tells the client when to come back (429 / 503 with Retry-After).
#pragma once

#include <string>

#include "faceproof/error.hpp"

namespace faceproof::server {

class RetryLater : public Error {
public:
    RetryLater(ErrorCode code, const std::string& message, int seconds) : Error(code, message), seconds_(seconds) {}
    int seconds() const { return seconds_; }

private:
    int seconds_;
};

}  // namespace faceproof::server
