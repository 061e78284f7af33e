// libFuzzer target: the server config file (ServerConfig::from_json_text, include/faceproof/server.hpp).
#include <cstddef>
#include <cstdint>
#include <string>

#include "faceproof/error.hpp"
#include "faceproof/server.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        (void)faceproof::ServerConfig::from_json_text(text, "fuzz input");
    } catch (const faceproof::Error&) {
    }
    return 0;
}
