// groupd's routes: every endpoint of the API and every bad-input case the
// issue lists, decided before anything reaches the ensemble.
#include "examples/groupd/routes.h"

#include <gtest/gtest.h>

namespace chorus::groupd {
namespace {

Route ok(std::string_view method, std::string_view target) {
    auto r = parse_route(method, target);
    EXPECT_TRUE(std::holds_alternative<Route>(r))
        << method << " " << target << ": " << std::get<RouteError>(r).message;
    return std::holds_alternative<Route>(r) ? std::get<Route>(r) : Route{};
}

int refused(std::string_view method, std::string_view target) {
    auto r = parse_route(method, target);
    EXPECT_TRUE(std::holds_alternative<RouteError>(r))
        << method << " " << target << " was accepted";
    if (!std::holds_alternative<RouteError>(r)) return 0;
    EXPECT_FALSE(std::get<RouteError>(r).message.empty());
    return std::get<RouteError>(r).status;
}

TEST(GroupdRoutes, EveryEndpoint) {
    Route r = ok("PUT", "/web/host-1?timeout=5");
    EXPECT_EQ(r.kind, Route::Kind::kJoin);
    EXPECT_EQ(r.group, "web");
    EXPECT_EQ(r.member, "host-1");
    EXPECT_EQ(r.timeout_s, 5u);
    EXPECT_FALSE(ok("PUT", "/web/host-1").timeout_s.has_value());
    EXPECT_EQ(ok("HEAD", "/web/host-1").kind, Route::Kind::kHeartbeat);
    EXPECT_EQ(ok("GET", "/web/host-1").kind, Route::Kind::kHeartbeatDocument);
    EXPECT_EQ(ok("DELETE", "/web/host-1").kind, Route::Kind::kLeave);
    r = ok("PUT", "/web/host-1/config");
    EXPECT_EQ(r.kind, Route::Kind::kMemberConfig);
    EXPECT_EQ(r.member, "host-1");
    EXPECT_EQ(ok("PUT", "/web/config").kind, Route::Kind::kGroupConfig);
    r = ok("GET", "/web?wait-version=7");
    EXPECT_EQ(r.kind, Route::Kind::kGroupDocument);
    EXPECT_EQ(r.wait_version, 7);
    EXPECT_FALSE(ok("GET", "/web").wait_version.has_value());
    EXPECT_EQ(ok("GET", "/health").kind, Route::Kind::kHealth);
    EXPECT_EQ(ok("GET", "/ready").kind, Route::Kind::kReady);
    EXPECT_EQ(ok("GET", "/metrics").kind, Route::Kind::kMetrics);
    EXPECT_EQ(ok("GET", "/").kind, Route::Kind::kStatus);
    EXPECT_EQ(ok("PUT", "/we%20b/h%41").group, "we b");
    EXPECT_EQ(ok("PUT", "/we%20b/h%41").member, "hA");
}

TEST(GroupdRoutes, BadNamesTimeoutsAndMethods) {
    EXPECT_EQ(refused("PUT", "/web//"), 400) << "empty member";
    EXPECT_EQ(refused("PUT", "/web/"), 400) << "empty member";
    EXPECT_EQ(refused("PUT", "/"), 405) << "/ is only read";
    EXPECT_EQ(refused("GET", "/?timeout=3"), 400);
    EXPECT_EQ(refused("GET", "//"), 400) << "empty group";
    EXPECT_EQ(refused("PUT", "/web/" + std::string(129, 'm')), 400) << "too long";
    EXPECT_EQ(refused("PUT", "/web/a%2Fb"), 400) << "a decoded / in a name";
    EXPECT_EQ(refused("PUT", "/web/a%0Ab"), 400) << "a control character";
    EXPECT_EQ(refused("PUT", "/web/a%zz"), 400) << "a malformed escape";
    EXPECT_EQ(refused("PUT", "/web/a%4"), 400) << "a cut-off escape";
    EXPECT_EQ(refused("PUT", "/web/m?timeout=abc"), 400);
    EXPECT_EQ(refused("PUT", "/web/m?timeout=0"), 400);
    EXPECT_EQ(refused("PUT", "/web/m?timeout=-3"), 400);
    EXPECT_EQ(refused("PUT", "/web/m?timeout=99999"), 400);
    EXPECT_EQ(refused("PUT", "/web/m?timeout="), 400);
    EXPECT_EQ(refused("HEAD", "/web/m?timeout=5"), 400) << "timeout only on a join";
    EXPECT_EQ(refused("GET", "/web?wait-version=x"), 400);
    EXPECT_EQ(refused("GET", "/web/m?wait-version=1"), 400);
    EXPECT_EQ(refused("GET", "/web?color=red"), 400) << "unknown parameter";
    EXPECT_EQ(refused("POST", "/web/m"), 405);
    EXPECT_EQ(refused("DELETE", "/web"), 405);
    EXPECT_EQ(refused("GET", "/web/config"), 405);
    EXPECT_EQ(refused("PUT", "/health"), 405) << "an operation, only read";
    EXPECT_EQ(refused("HEAD", "/metrics"), 405);
    EXPECT_EQ(refused("PUT", "/health/m"), 400) << "reserved group name";
    EXPECT_EQ(refused("PUT", "/membership/m"), 400) << "the membership routes own it";
    EXPECT_EQ(refused("PUT", "/web/%FF"), 400) << "not UTF-8";
    EXPECT_EQ(refused("PUT", "/web/%C0%AF"), 400) << "an overlong form";
    EXPECT_EQ(refused("PUT", "/web/%ED%A0%80"), 400) << "a surrogate";
    EXPECT_EQ(refused("PUT", "/web/%E2%82"), 400) << "cut short";
    EXPECT_EQ(ok("PUT", "/web/%E2%82%AC").member, "\xE2\x82\xAC") << "the euro sign";
    EXPECT_EQ(refused("GET", "/web/m/config/x"), 404);
    EXPECT_EQ(refused("GET", "web"), 400) << "no leading slash";
}

TEST(GroupdRoutes, PercentDecoding) {
    EXPECT_EQ(percent_decode("a%20b"), "a b");
    EXPECT_EQ(percent_decode("%41%42"), "AB");
    EXPECT_EQ(percent_decode("plain"), "plain");
    EXPECT_FALSE(percent_decode("%").has_value());
    EXPECT_FALSE(percent_decode("%4").has_value());
    EXPECT_FALSE(percent_decode("%g1").has_value());
}

}  // namespace
}  // namespace chorus::groupd
