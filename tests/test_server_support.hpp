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

namespace fptest {

// Starts args[0] with args (no shell), stdout to stdout_path and stderr to stderr_path (either may
// be "/dev/null"). Returns the child's pid, or -1.
pid_t spawn_process(const std::vector<std::string>& args, const fs::path& stdout_path, const fs::path& stderr_path);

// `faceproof serve` as a child process on a free loopback port (read from its log), ready once
// /readyz answers; SIGTERM and wait on stop() or destruction.
class ServeProcess {
public:
    ServeProcess(const std::string& db, const fs::path& key_file, const fs::path& log, int workers = 1);
    ~ServeProcess() { stop(); }
    ServeProcess(const ServeProcess&) = delete;
    ServeProcess& operator=(const ServeProcess&) = delete;

    void stop();          // SIGTERM, wait
    void kill_hard();     // SIGKILL, wait
    bool up() const { return port_ > 0; }
    int port() const { return port_; }
    httplib::Client client() const;
    std::string log() const;

private:
    fs::path log_;
    pid_t pid_ = -1;
    int port_ = 0;
};

}  // namespace fptest
