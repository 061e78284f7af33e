// faceproof serve — the HTTP service (REST API v1, web capture page, health, metrics);
// faceproof api-keys create|list|revoke — its API keys.
#include <csignal>
#include <iostream>
#include <thread>

#include "cli/cli.hpp"
#include "faceproof/api_keys.hpp"
#include "faceproof/server.hpp"

namespace faceproof::cli {
namespace {

std::atomic<Server*> g_server{nullptr};

// SIGINT/SIGTERM: stop accepting, finish in-flight requests, exit 0. A watcher thread does the
// stopping because httplib's stop() is not async-signal-safe.
void install_signal_watcher() {
    static sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::thread([] {
        int signal = 0;
        sigwait(&set, &signal);
        if (Server* s = g_server.load()) s->stop();
    }).detach();
}

std::pair<std::string, int> parse_listen(const std::string& listen) {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos || colon == 0)
        throw Error(ErrorCode::invalid_argument, "--listen takes HOST:PORT, e.g. 127.0.0.1:8080");
    std::size_t used = 0;
    int port = -1;
    try {
        port = std::stoi(listen.substr(colon + 1), &used);
    } catch (const std::exception&) {
    }
    if (used != listen.size() - colon - 1 || port < 0 || port > 65535)
        throw Error(ErrorCode::invalid_argument, "--listen: bad port in " + listen);
    return {listen.substr(0, colon), port};
}

}  // namespace

void register_serve(CLI::App& app, Context& context) {
    struct Args {
        std::optional<std::filesystem::path> config;
        std::string listen, db;
        std::optional<std::filesystem::path> key_file;
        std::optional<int> workers, queue, rate_limit;
        bool retain_images = false;
        std::optional<std::filesystem::path> trust;
    };
    auto args = std::make_shared<Args>();
    auto* cmd = app.add_subcommand("serve", "HTTP service: REST API v1, the web capture page at /, /healthz, "
                                            "/readyz, /metrics. TLS belongs to a reverse proxy in front");
    cmd->add_option("--config", args->config, "JSON settings file (flags override it)");
    cmd->add_option("--listen", args->listen, "HOST:PORT to listen on (default 127.0.0.1:8080)");
    cmd->add_option("--db", args->db, "Database: sqlite:PATH, sqlite: (default) or postgresql://...");
    cmd->add_option("--key-file", args->key_file,
                    "Data key (default: $FACEPROOF_KEY_FILE, else $XDG_DATA_HOME/faceproof/data.key, created on first "
                    "start)");
    cmd->add_option("--workers", args->workers, "Pipeline workers (default: one per core)")->check(CLI::Range(1, 256));
    cmd->add_option("--queue", args->queue, "Requests that may wait for a worker before 503 (default 2 x workers)")
        ->check(CLI::Range(0, 10000));
    cmd->add_option("--rate-limit", args->rate_limit, "Requests per minute per API key (default 600; 0 = off)")
        ->check(CLI::Range(0, 1000000));
    cmd->add_flag("--retain-images", args->retain_images, "Keep enrolment images, encrypted (off by default)");
    cmd->add_option("--trust", args->trust,
                    "CSCA trust store for document checks: CSCA certificates (PEM/DER), master lists (.ml), CRLs");
    cmd->callback([&context, args] {
        context.action = [&context, args] {
            ServerConfig config = args->config ? ServerConfig::from_file(*args->config) : ServerConfig{};
            if (!args->listen.empty()) std::tie(config.host, config.port) = parse_listen(args->listen);
            if (!args->db.empty()) config.db = args->db;
            if (args->key_file) config.key_file = args->key_file;
            if (context.models_dir) config.models_dir = context.models_dir;
            if (args->workers) config.workers = *args->workers;
            if (args->queue) config.queue = *args->queue;
            if (args->rate_limit) config.rate_limit_per_minute = *args->rate_limit;
            if (args->retain_images) config.retain_images = true;
            if (args->trust) config.trust_store = args->trust;
            // The server makes its store when there is none; opened here first so that the command
            // says so, as every command that creates a store does.
            open_store(Store::resolve_url(config.db), StoreOpening::create_if_missing).reset();
            install_signal_watcher();
            auto server = Server::create(config);
            g_server = server.get();
            std::cerr << "faceproof serve: listening on http://" << config.host << ":" << server->port() << "/\n";
            server->run();
            g_server = nullptr;
            return exit_ok;
        };
    });

    struct KeyArgs {
        StoreOptions store;
        std::string role = "operator", id;
        bool all = false;
    };
    auto key_args = std::make_shared<KeyArgs>();
    auto* keys = app.add_subcommand("api-keys", "API keys of the HTTP service (stored as hashes only)");
    keys->require_subcommand(1);
    auto* create = keys->add_subcommand("create", "Make a key for a tenant; it is printed once, on stdout");
    add_store_options(*create, key_args->store, false);
    create->add_option("--role", key_args->role, "operator (verify, enrol, search, delete) or admin (also the audit)")
        ->default_val("operator");
    add_json_flag(*create, context);
    create->callback([&context, key_args] {
        context.action = [&context, key_args] {
            auto store = open_store(key_args->store, StoreOpening::create_if_missing);
            NewApiKey k;
            store->transaction("api-keys", [&] {  // the key and its audit entry commit together
                k = create_api_key(*store, key_args->store.tenant, api_role_from_string(key_args->role));
                AuditTrail(*store).append(k.record.tenant, cli_actor(), "api_key_create", "", "created",
                                          {{"key_id", k.record.id}, {"role", k.record.role}});
            });
            print(context, {{"key", k.key}, {"id", k.record.id}, {"tenant", k.record.tenant}, {"role", k.record.role}},
                  [&](std::ostream& out) { out << k.key << '\n'; });
            std::cerr << "api key " << k.record.id << " for tenant " << k.record.tenant << " (" << k.record.role
                      << "); it is not shown again\n";
            return exit_ok;
        };
    });
    auto* list = keys->add_subcommand("list", "Keys of --tenant (or --all-tenants): ids, roles, dates; never secrets");
    add_store_options(*list, key_args->store, false);
    list->add_flag("--all-tenants", key_args->all, "Keys of every tenant");
    add_json_flag(*list, context);
    list->callback([&context, key_args] {
        context.action = [&context, key_args] {
            auto store = open_store(key_args->store, StoreOpening::existing_only);
            const auto records =
                store->list_api_keys(key_args->all ? std::nullopt : std::optional(key_args->store.tenant));
            nlohmann::json json = nlohmann::json::array();
            for (const auto& r : records)
                json.push_back({{"id", r.id}, {"tenant", r.tenant}, {"role", r.role}, {"created_at", r.created_at},
                                {"revoked_at", r.revoked_at.empty() ? nlohmann::json() : nlohmann::json(r.revoked_at)}});
            print(context, {{"keys", json}}, [&](std::ostream& out) {
                for (const auto& r : records)
                    out << r.id << '\t' << r.tenant << '\t' << r.role << '\t' << r.created_at << '\t'
                        << (r.revoked_at.empty() ? "active" : "revoked " + r.revoked_at) << '\n';
            });
            return exit_ok;
        };
    });
    auto* revoke = keys->add_subcommand("revoke", "Revoke a key by id (takes effect on every node within 5 s)");
    add_store_options(*revoke, key_args->store, false);
    revoke->add_option("ID", key_args->id, "Key id (the 16 hex characters after fpk_)")->required();
    add_json_flag(*revoke, context);
    revoke->callback([&context, key_args] {
        context.action = [&context, key_args] {
            auto store = open_store(key_args->store, StoreOpening::existing_only);
            store->transaction("api-keys", [&] {  // the revocation and its audit entry commit together
                const auto record = store->find_api_key(key_args->id);
                if (!record || !store->revoke_api_key(key_args->id, audit_time_now()))
                    throw Error(ErrorCode::not_found, "no active API key " + key_args->id);
                AuditTrail(*store).append(record->tenant, cli_actor(), "api_key_revoke", "", "revoked",
                                          {{"key_id", key_args->id}});
            });
            print(context, {{"id", key_args->id}, {"revoked", true}},
                  [&](std::ostream& out) { out << "revoked " << key_args->id << '\n'; });
            return exit_ok;
        };
    });
}

}  // namespace faceproof::cli
