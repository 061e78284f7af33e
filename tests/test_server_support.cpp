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
