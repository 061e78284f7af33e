// `faceproof serve` in the test process: a real server on a free loopback port with its own data
// key and (unless the config names one) its own SQLite file, stopped on destruction.
#pragma once

#include <httplib.h>

#include <memory>
#include <string>
#include <thread>

#include "faceproof/api_keys.hpp"
#include "faceproof/server.hpp"
#include "test_support.hpp"

namespace fptest {

class RunningServer {
public:
    explicit RunningServer(faceproof::ServerConfig config);
    ~RunningServer();
    RunningServer(const RunningServer&) = delete;
    RunningServer& operator=(const RunningServer&) = delete;

    httplib::Client client() const;
    int port() const;
    std::string key(const std::string& tenant, faceproof::ApiRole role) const;
    const std::string& db() const { return db_; }
    const fs::path& dir() const { return dir_.path(); }

private:
    TempDir dir_{"faceproof-server"};
    std::unique_ptr<faceproof::Server> server_;
    std::thread thread_;
    std::string db_;
};

}  // namespace fptest
