#include "cli/progress.hpp"

#include <cstdio>
#include <iostream>

#include <unistd.h>

namespace faceproof::cli {

ProgressBar::ProgressBar(std::string label) : label_(std::move(label)), tty_(isatty(STDERR_FILENO) != 0) {}

void ProgressBar::update(std::size_t done, std::size_t total) {
    const int percent = total ? static_cast<int>(100 * done / total) : 100;
    if (percent == last_percent_) return;
    last_percent_ = percent;
    constexpr int kWidth = 40;
    const int filled = percent * kWidth / 100;
    if (tty_) {
        std::cerr << '\r' << label_ << " [" << std::string(filled, '#') << std::string(kWidth - filled, '.') << "] "
                  << done << '/' << total << std::flush;
    } else if (percent % 10 == 0) {  // logs get a line every 10%
        std::cerr << label_ << ' ' << percent << "% (" << done << '/' << total << ")\n";
    }
}

void ProgressBar::finish() {
    if (tty_) std::cerr << '\n';
}

}  // namespace faceproof::cli
