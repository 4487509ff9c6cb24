// The registry's lookup answers (examples/registry/lookups.h) and their
// HTTP/JSON form (master_http.h): pure, from a view built by hand.
#include "examples/registry/lookups.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "examples/registry/master_http.h"

namespace chorus::registry {
namespace {

using json = nlohmann::json;

RegistryView full_view() {
    RegistryCache cache;
    cache.node_set("/hbase/hbaseid", "c0ffee", 0);
    cache.node_set("/hbase/master", "m1,16000,5", 0);
    cache.node_set("/hbase/backup-masters/m1,16000,5", "", 0);  // just won, not unlisted yet
    cache.node_set("/hbase/backup-masters/m2,16000,6", "", 0);
    cache.node_set("/hbase/meta-region-server", "rs1,16020,7", 3);
    cache.node_set("/hbase/rs/rs1,16020,7", R"({"load":1})", 0);
    cache.node_set("/hbase/rs/rs2,16020,8", "plain", 0);
    return cache.view();
}

const LookupContext kServing{.self = *ServerName::parse("m2,16000,6"), .serving = true};
const LookupContext kNotServing{.self = *ServerName::parse("m2,16000,6"), .serving = false};

template <typename Set>
pb::RegistryRequest request(Set set, uint64_t id = 9) {
    pb::RegistryRequest r;
    r.set_id(id);
    set(r);
    return r;
}

TEST(Lookups, AnswerEveryQuestionFromTheView) {
    const RegistryView view = full_view();
    auto r = answer(request([](auto& r) { r.mutable_get_cluster_id(); }), view, kServing);
    EXPECT_EQ(r.code(), pb::OK);
    EXPECT_EQ(r.id(), 9u);
    EXPECT_EQ(r.cluster_id(), "c0ffee");
    EXPECT_EQ(r.generation(), view.generation);
    EXPECT_EQ(name_text(r.served_by()), "m2,16000,6");

    r = answer(request([](auto& r) { r.mutable_get_active_master(); }), view, kServing);
    EXPECT_EQ(name_text(r.active_master()), "m1,16000,5");

    r = answer(request([](auto& r) { r.mutable_get_meta_location(); }), view, kServing);
    EXPECT_EQ(name_text(r.meta_location()), "rs1,16020,7");
    EXPECT_EQ(r.meta_version(), 3);

    r = answer(request([](auto& r) { r.mutable_get_region_servers(); }), view, kServing);
    ASSERT_EQ(r.region_servers_size(), 2);
    EXPECT_EQ(name_text(r.region_servers(0).name()), "rs1,16020,7");
    EXPECT_EQ(r.region_servers(0).metadata(), R"({"load":1})");
    EXPECT_EQ(name_text(r.region_servers(1).name()), "rs2,16020,8");

    // The master that has just won is not listed as a backup as well.
    r = answer(request([](auto& r) { r.mutable_get_masters(); }), view, kServing);
    EXPECT_EQ(name_text(r.active_master()), "m1,16000,5");
    ASSERT_EQ(r.backup_masters_size(), 1);
    EXPECT_EQ(name_text(r.backup_masters(0)), "m2,16000,6");
}

TEST(Lookups, NothingThereYetIsNotFound) {
    const RegistryView empty;
    for (auto set : {+[](pb::RegistryRequest& r) { r.mutable_get_cluster_id(); },
                     +[](pb::RegistryRequest& r) { r.mutable_get_active_master(); },
                     +[](pb::RegistryRequest& r) { r.mutable_get_meta_location(); }}) {
        auto r = answer(request(set), empty, kServing);
        EXPECT_EQ(r.code(), pb::NOT_FOUND) << r.ShortDebugString();
        EXPECT_FALSE(r.message().empty());
    }
    // Empty lists are answers, not errors.
    EXPECT_EQ(
        answer(request([](auto& r) { r.mutable_get_region_servers(); }), empty, kServing).code(),
        pb::OK);
}

TEST(Lookups, AMasterNotServingAnswersOnlyTheClusterId) {
    const RegistryView view = full_view();
    auto r = answer(request([](auto& r) { r.mutable_get_cluster_id(); }), view, kNotServing);
    EXPECT_EQ(r.code(), pb::OK);
    EXPECT_EQ(r.cluster_id(), "c0ffee");
    r = answer(request([](auto& r) { r.mutable_get_active_master(); }), view, kNotServing);
    EXPECT_EQ(r.code(), pb::NOT_SERVING);
    EXPECT_FALSE(r.has_active_master());
    r = answer(request([](auto& r) { r.mutable_get_region_servers(); }), view, kNotServing);
    EXPECT_EQ(r.code(), pb::NOT_SERVING);
    EXPECT_EQ(r.region_servers_size(), 0);
}

TEST(Lookups, ARequestWithNoOpOrAWriteIsNotALookup) {
    auto r = answer(pb::RegistryRequest(), full_view(), kServing);
    EXPECT_EQ(r.code(), pb::BAD_REQUEST);
    EXPECT_FALSE(is_lookup(request([](auto& r) { r.mutable_set_meta_location(); })));
    EXPECT_TRUE(is_lookup(request([](auto& r) { r.mutable_get_masters(); })));
}

TEST(Lookups, NamesFromTheWireAreCheckedAsHBaseWould) {
    pb::ServerName name;
    name.set_host("rs1");
    name.set_port(16020);
    name.set_start_code(1);
    ASSERT_TRUE(from_pb(name));
    EXPECT_EQ(from_pb(name)->str(), "rs1,16020,1");
    EXPECT_EQ(to_pb(*from_pb(name)).ShortDebugString(), name.ShortDebugString());
    for (auto bad : {std::pair<std::string, uint32_t>{"", 1},
                     {"a,b", 1},
                     {"a/b", 1},
                     {"rs1", 0},
                     {"rs1", 70000}}) {
        name.set_host(bad.first);
        name.set_port(bad.second);
        EXPECT_FALSE(from_pb(name)) << bad.first << ":" << bad.second;
    }
}

net::HttpRequest http(std::string method, std::string target, std::string body = {}) {
    return net::HttpRequest{std::move(method), std::move(target), std::move(body)};
}

TEST(MasterHttp, RoutesEveryLookupAndThePages) {
    const std::pair<const char*, pb::RegistryRequest::OpCase> lookups[] = {
        {"/cluster-id", pb::RegistryRequest::kGetClusterId},
        {"/active-master", pb::RegistryRequest::kGetActiveMaster},
        {"/meta-location", pb::RegistryRequest::kGetMetaLocation},
        {"/region-servers", pb::RegistryRequest::kGetRegionServers},
        {"/masters", pb::RegistryRequest::kGetMasters},
    };
    for (const auto& [target, op] : lookups) {
        HttpRoute route = route_of(http("GET", target));
        ASSERT_TRUE(std::holds_alternative<pb::RegistryRequest>(route)) << target;
        EXPECT_EQ(std::get<pb::RegistryRequest>(route).op_case(), op);
    }
    auto page = route_of(http("GET", "/ready"));
    ASSERT_TRUE(std::holds_alternative<HttpOperations>(page));
    EXPECT_EQ(std::get<HttpOperations>(page).page, HttpOperations::Page::kReady);

    auto put = route_of(http("PUT", "/meta-location?expected-version=4", "rs9,16020,3\n"));
    ASSERT_TRUE(std::holds_alternative<pb::RegistryRequest>(put));
    const auto& set = std::get<pb::RegistryRequest>(put).set_meta_location();
    EXPECT_EQ(name_text(set.server()), "rs9,16020,3");
    EXPECT_EQ(set.expected_version(), 4);
    put = route_of(http("PUT", "/meta-location?expected-version=-1", "rs9,16020,3"));
    EXPECT_EQ(std::get<pb::RegistryRequest>(put).set_meta_location().expected_version(), -1);
}

TEST(MasterHttp, RefusesWhatItCannotServe) {
    const std::tuple<const char*, const char*, const char*, int> bad[] = {
        {"GET", "/nothing", "", 404},
        {"POST", "/active-master", "", 405},
        {"DELETE", "/health", "", 405},
        {"GET", "/masters?x=1", "", 400},
        {"PUT", "/meta-location", "rs9,16020,3", 400},                      // no version
        {"PUT", "/meta-location?expected-version=x", "rs9,16020,3", 400},   // not a number
        {"PUT", "/meta-location?expected-version=-2", "rs9,16020,3", 400},  // below -1
        {"PUT", "/meta-location?expected-version=0", "rs9:16020", 400},     // not a name
    };
    for (const auto& [method, target, body, status] : bad) {
        HttpRoute route = route_of(http(method, target, body));
        ASSERT_TRUE(std::holds_alternative<net::HttpReply>(route)) << method << " " << target;
        EXPECT_EQ(std::get<net::HttpReply>(route).status, status) << method << " " << target;
        EXPECT_TRUE(json::parse(std::get<net::HttpReply>(route).body).contains("error"));
    }
}

TEST(MasterHttp, AnswersAsJsonWithTheirStatus) {
    const RegistryView view = full_view();
    auto get = [&](auto set, const LookupContext& context) {
        pb::RegistryRequest r = request(set);
        return http_reply_of(r.op_case(), answer(r, view, context));
    };
    auto reply = get([](auto& r) { r.mutable_get_region_servers(); }, kServing);
    EXPECT_EQ(reply.status, 200);
    json body = json::parse(reply.body);
    ASSERT_EQ(body["region_servers"].size(), 2u);
    EXPECT_EQ(body["region_servers"][0]["name"], "rs1,16020,7");
    EXPECT_EQ(body["region_servers"][0]["metadata"]["load"], 1);  // JSON stays JSON
    EXPECT_EQ(body["region_servers"][1]["metadata"], "plain");    // the rest is a string
    EXPECT_EQ(body["served_by"], "m2,16000,6");

    reply = get([](auto& r) { r.mutable_get_meta_location(); }, kServing);
    body = json::parse(reply.body);
    EXPECT_EQ(body["meta_location"]["server"], "rs1,16020,7");
    EXPECT_EQ(body["meta_location"]["version"], 3);

    reply = get([](auto& r) { r.mutable_get_active_master(); }, kNotServing);
    EXPECT_EQ(reply.status, 503);
    body = json::parse(reply.body);
    EXPECT_EQ(body["code"], "NOT_SERVING");
    EXPECT_FALSE(body.contains("active_master"));

    pb::RegistryRequest ask = request([](auto& r) { r.mutable_get_active_master(); });
    reply = http_reply_of(ask.op_case(), answer(ask, RegistryView{}, kServing));
    EXPECT_EQ(reply.status, 404);
    EXPECT_EQ(http_status_of(pb::BAD_VERSION), 409);
    EXPECT_EQ(http_status_of(pb::UNCERTAIN), 503);
    EXPECT_EQ(http_status_of(pb::TOO_LARGE), 400);
}

}  // namespace
}  // namespace chorus::registry
