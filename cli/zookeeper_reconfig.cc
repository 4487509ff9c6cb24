#include "cli/zookeeper_reconfig.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "session/zookeeper/reconfig.h"
#include "session/zookeeper/records.h"

namespace chorus {

namespace {

// The message of an error reply's JSON ({"error": "..."}), or the body.
std::string message_of(const std::string& body) {
    const nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
    if (doc.is_object() && doc.contains("error") && doc["error"].is_string())
        return doc["error"].get<std::string>();
    return body;
}

int32_t zookeeper_error_of(int http_status, const std::string& message) {
    switch (http_status) {
        case 400:
            return zookeeper::kBadArguments;
        case 409:
            return message.rfind("another membership change", 0) == 0
                       ? zookeeper::kReconfigInProgress
                       : zookeeper::kBadArguments;
        case 503:
            return zookeeper::kNewConfigNoQuorum;
        default:
            return zookeeper::kSystemError;
    }
}

}  // namespace

zookeeper::ReconfigHook zookeeper_reconfig_through(MembershipAdmin& admin, Node& node) {
    return [&admin, &node](const zookeeper::ReconfigChange& change, int64_t expected_version,
                           std::function<void(zookeeper::ReconfigAnswer)> done) {
        const zab::Membership now = node.membership();
        if (expected_version != -1 && expected_version != zookeeper::config_version_of(now)) {
            char have[24];
            std::snprintf(have, sizeof have, "%llx",
                          static_cast<unsigned long long>(zookeeper::config_version_of(now)));
            return done({zookeeper::kBadVersion,
                         "the configuration is at version " + std::string(have) + ", not " +
                             std::to_string(expected_version),
                         {},
                         0});
        }
        net::HttpRequest request;
        request.method = "POST";
        const std::string id = std::to_string(change.id);
        if (change.kind == zookeeper::ReconfigChange::Kind::kJoin) {
            request.target = "/membership/add?id=" + id + "&address=" + change.address +
                             "&as=" + (change.observer ? "observer" : "voter");
        } else {
            request.target = "/membership/remove?id=" + id;
        }
        admin.handle(request, [&node, done](net::HttpReply reply) {
            if (reply.status != 200) {
                const std::string why = message_of(reply.body);
                return done({zookeeper_error_of(reply.status, why), why, {}, 0});
            }
            const zab::Membership m = node.membership();
            done({zookeeper::kOk, {}, zookeeper::config_text(m), zookeeper::config_version_of(m)});
        });
    };
}

}  // namespace chorus
