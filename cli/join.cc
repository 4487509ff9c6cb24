#include "cli/join.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "cli/membership_admin.h"
#include "net/http_client.h"

namespace chorus {

Result<zab::Membership> fetch_membership(const std::string& http_address, uint64_t patience_ms) {
    const auto start = std::chrono::steady_clock::now();
    auto elapsed_ms = [&start] {
        return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - start)
                                         .count());
    };
    std::string reason;
    for (int attempt = 0;; ++attempt) {
        net::HttpClient client(http_address, 3000);
        const net::HttpResult r = client.request("GET", "/membership");
        if (r.status == 200) return parse_membership_json(r.body);
        reason = r.answered() ? "HTTP " + std::to_string(r.status) + ": " + r.body : r.error;
        if (r.status == 404 || r.status == 405) {
            return Status::invalid_argument("--join " + http_address +
                                            " does not serve GET /membership (is it a member's "
                                            "HTTP or admin port?): " +
                                            reason);
        }
        if (elapsed_ms() >= patience_ms) break;
        if (attempt % 10 == 0)
            spdlog::info("--join: waiting for {} to answer GET /membership ({})", http_address,
                         reason);
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return Status(Code::kIoError, "--join " + http_address + ": no membership after " +
                                      std::to_string(patience_ms / 1000) + " s: " + reason);
}

}  // namespace chorus
