// Tests of the server config file parser (ServerConfig::from_json_text and from_file). No models.
#include <gtest/gtest.h>

#include <cstddef>
#include <limits>
#include <string>

#include "faceproof/error.hpp"
#include "faceproof/server.hpp"
#include "test_support.hpp"

namespace fp = faceproof;
using fp::ErrorCode;
using fptest::expect_error_code;

TEST(ServerConfig, EverySettingIsRead) {
    const auto c = fp::ServerConfig::from_json_text(
        R"({"host": "0.0.0.0", "port": 9000, "db": "sqlite:/tmp/x.db", "key_file": "/etc/k",
            "models_dir": "/opt/models", "workers": 3, "queue": 7, "max_body_bytes": 1000,
            "max_image_bytes": 900, "max_image_pixels": 4000000, "max_image_side": 2000,
            "request_timeout_s": 5, "rate_limit_per_minute": 60, "lockout_failures": 2,
            "lockout_window_s": 30, "lockout_s": 60, "retain_images": true, "sync_interval_s": 0.5})",
        "test");
    EXPECT_EQ(c.host, "0.0.0.0");
    EXPECT_EQ(c.port, 9000);
    EXPECT_EQ(c.db, "sqlite:/tmp/x.db");
    EXPECT_EQ(c.key_file, std::filesystem::path("/etc/k"));
    EXPECT_EQ(c.models_dir, std::filesystem::path("/opt/models"));
    EXPECT_EQ(c.workers, 3);
    EXPECT_EQ(c.queue, 7);
    EXPECT_EQ(c.max_body_bytes, 1000u);
    EXPECT_EQ(c.image_limits.max_bytes, 900u);
    EXPECT_EQ(c.image_limits.max_pixels, 4000000);
    EXPECT_EQ(c.image_limits.max_side, 2000);
    EXPECT_EQ(c.request_timeout_s, 5);
    EXPECT_EQ(c.rate_limit_per_minute, 60);
    EXPECT_EQ(c.lockout_failures, 2);
    EXPECT_EQ(c.lockout_window_s, 30);
    EXPECT_EQ(c.lockout_s, 60);
    EXPECT_TRUE(c.retain_images);
    EXPECT_DOUBLE_EQ(c.sync_interval_s, 0.5);
}

TEST(ServerConfig, AbsentSettingsKeepTheirDefaults) {
    const auto c = fp::ServerConfig::from_json_text("{}", "test");
    const fp::ServerConfig defaults;
    EXPECT_EQ(c.host, defaults.host);
    EXPECT_EQ(c.port, defaults.port);
    EXPECT_FALSE(c.key_file);
    EXPECT_EQ(c.max_body_bytes, defaults.max_body_bytes);
    EXPECT_EQ(c.image_limits.max_pixels, defaults.image_limits.max_pixels);
}

TEST(ServerConfig, RefusalsNameTheOrigin) {
    EXPECT_NE(expect_error_code(ErrorCode::invalid_argument,
                                [] { (void)fp::ServerConfig::from_json_text("[1]", "cfg.json"); })
                  .find("cfg.json: not a JSON object"),
              std::string::npos);
    EXPECT_NE(expect_error_code(ErrorCode::invalid_argument,
                                [] { (void)fp::ServerConfig::from_json_text("{\"prot\": 1}", "cfg.json"); })
                  .find("cfg.json: unknown setting \"prot\""),
              std::string::npos);
    EXPECT_NE(expect_error_code(ErrorCode::invalid_argument,
                                [] { (void)fp::ServerConfig::from_json_text("{\"port\": \"80\"}", "cfg.json"); })
                  .find("\"port\" has the wrong type"),
              std::string::npos);
}

TEST(ServerConfig, FromFileReadsTheFileAndNamesItInErrors) {
    fptest::TempDir dir;
    fptest::write_text(dir / "good.json", R"({"port": 1234})");
    EXPECT_EQ(fp::ServerConfig::from_file(dir / "good.json").port, 1234);
    fptest::write_text(dir / "bad.json", "not json");
    const auto message = expect_error_code(ErrorCode::invalid_argument,
                                           [&] { (void)fp::ServerConfig::from_file(dir / "bad.json"); });
    EXPECT_NE(message.find((dir / "bad.json").string()), std::string::npos) << message;
    expect_error_code(ErrorCode::io_error, [&] { (void)fp::ServerConfig::from_file(dir / "missing.json"); });
}

// Found with inputs written for fuzz/fuzz_config.cpp: out-of-range numbers went through a plain cast (undefined for
// floats, wrapped for integers) instead of being refused.
TEST(ServerConfig, NumbersOutsideASettingsRangeAreRefused) {
    for (const char* text : {R"({"port": 1e300})", R"({"max_body_bytes": -1.5})", R"({"max_body_bytes": -1})",
                             R"({"port": 4294967297})", R"({"port": 80.5})", R"({"max_image_pixels": 1e19})",
                             R"({"workers": true})"}) {
        SCOPED_TRACE(text);
        expect_error_code(ErrorCode::invalid_argument, [text] { (void)fp::ServerConfig::from_json_text(text, "t"); });
    }
    // The extremes of each type, and whole numbers written as floats, still pass.
    EXPECT_EQ(fp::ServerConfig::from_json_text(R"({"max_body_bytes": 18446744073709551615})", "t").max_body_bytes,
              std::numeric_limits<std::size_t>::max());
    EXPECT_EQ(fp::ServerConfig::from_json_text(R"({"queue": -2147483648})", "t").queue, std::numeric_limits<int>::min());
    EXPECT_EQ(fp::ServerConfig::from_json_text(R"({"port": 8080.0})", "t").port, 8080);
}

// Found with inputs written for fuzz/fuzz_config.cpp: a path setting that is not a string threw nlohmann's type_error
// instead of Error{invalid_argument}, so `faceproof serve --config` called it an internal error.
TEST(ServerConfig, PathSettingsOfTheWrongTypeAreRefused) {
    for (const char* text : {R"({"key_file": 1})", R"({"models_dir": ["a"]})", R"({"key_file": null})"}) {
        SCOPED_TRACE(text);
        expect_error_code(ErrorCode::invalid_argument, [text] { (void)fp::ServerConfig::from_json_text(text, "t"); });
    }
}
