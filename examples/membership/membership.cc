// membership: join a group through chorus::Client and print who else is in
// it, every time it changes — the session tracker's working example.
//
//   membership --servers 127.0.0.1:9001,127.0.0.1:9002,127.0.0.1:9003
//              --group web --name host-1 --metadata '{"port":8080}'
//
// It opens a session (the library heartbeats it), joins the group as an
// ephemeral member, then waits for each new group version and prints the
// members. Kill it with SIGKILL and the others see it dropped once its
// session times out; stop it with Ctrl-C and it leaves at once.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <sstream>

#include "client/client.h"

namespace {

volatile std::sig_atomic_t stop_requested = 0;

std::vector<std::string> split(const std::string& text) {
    std::vector<std::string> parts;
    std::stringstream in(text);
    for (std::string part; std::getline(in, part, ',');) {
        if (!part.empty()) parts.push_back(part);
    }
    return parts;
}

void print(const std::string& group, const chorus::GroupData& g) {
    std::printf("group %s, version %lld:", group.c_str(), static_cast<long long>(g.version));
    for (const auto& m : g.active)
        std::printf(" %s%s%s", m.name.c_str(), m.metadata && !m.metadata->empty() ? "=" : "",
                    m.metadata ? m.metadata->c_str() : "");
    if (!g.inactive.empty()) {
        std::printf("  (inactive:");
        for (const auto& m : g.inactive) std::printf(" %s", m.name.c_str());
        std::printf(")");
    }
    std::printf("\n");
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"membership: join a chorus group and watch its members"};
    std::string servers, group, name, metadata;
    uint64_t timeout_ms = 3000;
    app.add_option("--servers", servers, "client addresses of the servers, comma-separated")
        ->required();
    app.add_option("--group", group, "the group to join")->required();
    app.add_option("--name", name, "this member's name")->required();
    app.add_option("--metadata", metadata, "what the others see about this member");
    app.add_option("--timeout-ms", timeout_ms, "session timeout")->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    std::signal(SIGINT, [](int) { stop_requested = 1; });
    std::signal(SIGTERM, [](int) { stop_requested = 1; });

    chorus::SyncClient client(
        chorus::ClientOptions{.servers = split(servers), .session_timeout_ms = timeout_ms});
    client.async().on_session_lost([](uint64_t id) {
        std::fprintf(stderr, "membership: session %llu expired\n",
                     static_cast<unsigned long long>(id));
        stop_requested = 1;
    });
    auto session = client.open_session();
    if (!session.ok()) {
        std::fprintf(stderr, "membership: cannot open a session: %s\n",
                     session.status.str().c_str());
        return 1;
    }
    if (auto joined = client.join_group(session.value, group, name, metadata); !joined.ok()) {
        std::fprintf(stderr, "membership: cannot join %s: %s\n", group.c_str(),
                     joined.status.str().c_str());
        return 1;
    }
    std::printf("joined %s as %s (session %llu, via %s)\n", group.c_str(), name.c_str(),
                static_cast<unsigned long long>(session.value),
                client.async().current_server().c_str());
    int64_t seen = -1;
    while (!stop_requested) {
        auto g = client.get_group(group, /*sync=*/true);
        if (g.ok() && g.value.version != seen) {
            print(group, g.value);
            seen = g.value.version;
        }
        // Long-poll: answered as soon as the group changes (or after 1 s).
        client.watch_group(group, seen, 1000);
    }
    client.close_session(session.value);
    std::printf("left %s\n", group.c_str());
    return 0;
}
