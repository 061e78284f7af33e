#include "test_server_support.hpp"

#include <chrono>

#include "faceproof/crypto.hpp"
#include "faceproof/store.hpp"

namespace fptest {

RunningServer::RunningServer(faceproof::ServerConfig config) {
    config.host = "127.0.0.1";
    config.port = 0;
    if (config.db.empty()) config.db = "sqlite:" + (dir_.path() / "server.db").string();
    faceproof::DataKey::generate_file(dir_.path() / "data.key");
    config.key_file = dir_.path() / "data.key";
    server_ = faceproof::Server::create(config);
    thread_ = std::thread([this] { server_->run(); });
    for (int i = 0; i < 500 && !server_->ready(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    db_ = config.db;
}

RunningServer::~RunningServer() {
    server_->stop();
    thread_.join();
}

httplib::Client RunningServer::client() const {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(120);
    return c;
}

int RunningServer::port() const { return server_->port(); }

std::string RunningServer::key(const std::string& tenant, faceproof::ApiRole role) const {
    auto store = faceproof::Store::open(db_);
    return faceproof::create_api_key(*store, tenant, role).key;
}

}  // namespace fptest

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <regex>

extern char** environ;

namespace fptest {

pid_t spawn_process(const std::vector<std::string>& args, const fs::path& stdout_path, const fs::path& stderr_path) {
    std::vector<std::string> copy = args;
    std::vector<char*> argv;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid = -1;
    if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid = -1;
    posix_spawn_file_actions_destroy(&actions);
    return pid;
}

ServeProcess::ServeProcess(const std::string& db, const fs::path& key_file, const fs::path& log, int workers)
    : log_(log) {
    using Clock = std::chrono::steady_clock;
    pid_ = spawn_process({FACEPROOF_CLI_PATH, "serve", "--listen", "127.0.0.1:0", "--db", db, "--key-file",
                          key_file.string(), "--workers", std::to_string(workers)},
                         "/dev/null", log);
    // The port is in the log: "listening on http://127.0.0.1:PORT/".
    const std::regex listening(R"(listening on http://127\.0\.0\.1:(\d+)/)");
    for (auto deadline = Clock::now() + std::chrono::seconds(60); Clock::now() < deadline && pid_ > 0;) {
        std::smatch m;
        const std::string text = read_text(log_);
        if (std::regex_search(text, m, listening)) {
            port_ = std::stoi(m[1]);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    for (auto deadline = Clock::now() + std::chrono::seconds(30); port_ && Clock::now() < deadline;) {
        auto r = client().Get("/readyz");
        if (r && r->status == 200) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

void ServeProcess::stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
}

void ServeProcess::kill_hard() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
}

httplib::Client ServeProcess::client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(120);
    return c;
}

std::string ServeProcess::log() const { return read_text(log_); }

}  // namespace fptest
