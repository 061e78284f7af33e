// A one-line progress bar on stderr (only when stderr is a terminal, or always with force).
#pragma once

#include <cstddef>
#include <string>

namespace faceproof::cli {

class ProgressBar {
public:
    explicit ProgressBar(std::string label);
    void update(std::size_t done, std::size_t total);
    void finish();

private:
    std::string label_;
    bool tty_;
    int last_percent_ = -1;
};

}  // namespace faceproof::cli
