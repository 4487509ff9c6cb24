#include "examples/groupd/chorusctl_members.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "examples/common/table.h"
#include "net/http_client.h"

namespace chorus::chorusctl {

namespace {

using nlohmann::ordered_json;

struct Answer {
    std::string address;  // who answered ("" if no one did)
    net::HttpResult result;
    std::string errors;  // of the servers that did not answer
};

// The first of `addresses` that answers `method target` at all.
Answer ask_first(const std::vector<std::string>& addresses, const std::string& method,
                 const std::string& target, int timeout_ms) {
    Answer a;
    for (const std::string& address : addresses) {
        net::HttpClient client(address, timeout_ms);
        net::HttpResult r = client.request(method, target);
        if (r.answered()) {
            a.address = address;
            a.result = std::move(r);
            return a;
        }
        a.errors += "  " + address + ": " + r.error + "\n";
    }
    return a;
}

std::string error_of(const net::HttpResult& r) {
    const ordered_json doc = ordered_json::parse(r.body, nullptr, false);
    if (!doc.is_discarded() && doc.is_object() && doc.contains("error"))
        return doc["error"].get<std::string>();
    return "HTTP " + std::to_string(r.status) + ": " + r.body;
}

void print_membership(const ordered_json& m) {
    const uint64_t leader = m["leader"].get<uint64_t>();
    std::printf("membership %llu:%llu%s, as server %llu sees it (%s)\n",
                static_cast<unsigned long long>(m["version"]["epoch"].get<uint64_t>()),
                static_cast<unsigned long long>(m["version"]["counter"].get<uint64_t>()),
                m["committed"].get<bool>() ? "" : " (not committed yet)",
                static_cast<unsigned long long>(m["this"].get<uint64_t>()),
                m["role"].get<std::string>().c_str());
    std::vector<std::vector<std::string>> rows = {{"SERVER", "PEER ADDRESS", "KIND", "LEADS"}};
    for (const char* kind : {"voters", "observers"}) {
        for (const auto& s : m[kind]) {
            const uint64_t id = s["id"].get<uint64_t>();
            rows.push_back({std::to_string(id), s["address"].get<std::string>(),
                            std::string(kind) == "voters" ? "voter" : "observer",
                            id == leader ? "yes" : ""});
        }
    }
    examples::print_table(rows);
    const size_t voters = m["voters"].size();
    std::printf("%zu voters: a quorum is %zu, so %zu may fail\n", voters, voters / 2 + 1,
                (voters - 1) / 2);
}

int change(const std::vector<std::string>& addresses, const std::string& target,
           const std::string& what, int timeout_s) {
    std::printf("%s (waiting up to %d s)...\n", what.c_str(), timeout_s);
    std::fflush(stdout);
    // The server answers once the change holds or it gives up: wait longer.
    Answer a = ask_first(addresses, "POST", target, (timeout_s + 10) * 1000);
    if (a.address.empty()) {
        std::fprintf(stderr, "chorusctl: no server answered:\n%s", a.errors.c_str());
        return 1;
    }
    if (a.result.status != 200) {
        std::fprintf(stderr, "chorusctl: %s refused: %s\n", a.address.c_str(),
                     error_of(a.result).c_str());
        return 1;
    }
    const ordered_json doc = ordered_json::parse(a.result.body, nullptr, false);
    if (doc.is_discarded() || !doc.contains("membership")) {
        std::fprintf(stderr, "chorusctl: %s answered something that is not a membership\n",
                     a.address.c_str());
        return 1;
    }
    std::printf("%s\n", doc["result"].get<std::string>().c_str());
    print_membership(doc["membership"]);
    return 0;
}

}  // namespace

int print_members(const std::vector<std::string>& addresses, int timeout_ms) {
    Answer a = ask_first(addresses, "GET", "/membership", timeout_ms);
    if (a.address.empty()) {
        std::fprintf(stderr, "chorusctl: no server answered:\n%s", a.errors.c_str());
        return 1;
    }
    if (a.result.status != 200) {
        std::fprintf(stderr, "chorusctl: %s: %s\n", a.address.c_str(), error_of(a.result).c_str());
        return 1;
    }
    const ordered_json doc = ordered_json::parse(a.result.body, nullptr, false);
    if (doc.is_discarded() || !doc.contains("voters")) {
        std::fprintf(stderr, "chorusctl: %s answered something that is not a membership\n",
                     a.address.c_str());
        return 1;
    }
    print_membership(doc);
    return 0;
}

int add_server(const std::vector<std::string>& addresses, uint64_t id, const std::string& address,
               bool observer, int timeout_s) {
    const std::string target = "/membership/add?id=" + std::to_string(id) + "&address=" + address +
                               (observer ? "&as=observer" : "") +
                               "&timeout_s=" + std::to_string(timeout_s);
    const std::string what =
        observer ? "adding server " + std::to_string(id) + " as an observer"
                 : "adding server " + std::to_string(id) +
                       " as a voter (an observer first, promoted once it has caught up)";
    return change(addresses, target, what, timeout_s);
}

int remove_server(const std::vector<std::string>& addresses, uint64_t id, int timeout_s) {
    return change(
        addresses,
        "/membership/remove?id=" + std::to_string(id) + "&timeout_s=" + std::to_string(timeout_s),
        "removing server " + std::to_string(id), timeout_s);
}

int transfer_leader(const std::vector<std::string>& addresses, uint64_t id, int timeout_s) {
    const std::string target = "/membership/transfer-leader?" +
                               (id != 0 ? "id=" + std::to_string(id) + "&" : std::string()) +
                               "timeout_s=" + std::to_string(timeout_s);
    return change(addresses, target,
                  id != 0 ? "handing leadership to server " + std::to_string(id)
                          : std::string("handing leadership to another voter"),
                  timeout_s);
}

}  // namespace chorus::chorusctl
