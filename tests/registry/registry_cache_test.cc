// The master registry's cache (examples/registry/registry_cache.h): what a
// master answers lookups from, built from the nodes under /hbase.
#include "examples/registry/registry_cache.h"

#include <gtest/gtest.h>

namespace chorus::registry {
namespace {

TEST(ServerName, ParsesHBasesHostPortStartcode) {
    auto name = ServerName::parse("rs1.example.com,16020,1700000000123");
    ASSERT_TRUE(name);
    EXPECT_EQ(name->host, "rs1.example.com");
    EXPECT_EQ(name->port, 16020);
    EXPECT_EQ(name->start_code, 1700000000123u);
    EXPECT_EQ(name->str(), "rs1.example.com,16020,1700000000123");
    EXPECT_EQ(ServerName::parse("10.0.0.1,1,0")->str(), "10.0.0.1,1,0");
}

TEST(ServerName, RefusesWhatIsNotOne) {
    for (const char* bad : {"", "host", "host,16020", ",16020,1", "host,0,1", "host,65536,1",
                            "host,port,1", "host,16020,", "host,16020,x", "host,16020,1,2",
                            "a/b,16020,1", "host,-1,1", "host, 16020,1"})
        EXPECT_FALSE(ServerName::parse(bad)) << bad;
}

TEST(RegistryCache, FollowsEveryKindOfNode) {
    RegistryCache cache;
    EXPECT_EQ(cache.view().generation, 0u);
    cache.node_set("/hbase", "", 0);
    cache.node_set("/hbase/rs", "", 0);
    cache.node_set("/hbase/backup-masters", "", 0);
    EXPECT_EQ(cache.view().generation, 0u) << "directories change nothing";
    cache.node_set("/hbase/hbaseid", "c0ffee", 0);
    cache.node_set("/hbase/master", "m1,16000,1", 0);
    cache.node_set("/hbase/backup-masters/m3,16000,3", "", 0);
    cache.node_set("/hbase/backup-masters/m2,16000,2", "", 0);
    cache.node_set("/hbase/meta-region-server", "rs1,16020,7", 4);
    cache.node_set("/hbase/rs/rs1,16020,7", "{\"load\": 1}", 0);
    cache.node_set("/hbase/rs/rs2,16020,8", "", 0);
    const RegistryView& v = cache.view();
    EXPECT_EQ(v.cluster_id, "c0ffee");
    ASSERT_TRUE(v.active_master);
    EXPECT_EQ(v.active_master->str(), "m1,16000,1");
    ASSERT_EQ(v.backup_masters.size(), 2u);
    EXPECT_EQ(v.backup_masters[0].str(), "m2,16000,2") << "ordered by name";
    EXPECT_EQ(v.backup_masters[1].str(), "m3,16000,3");
    ASSERT_TRUE(v.meta);
    EXPECT_EQ(v.meta->server.str(), "rs1,16020,7");
    EXPECT_EQ(v.meta->version, 4);
    ASSERT_EQ(v.region_servers.size(), 2u);
    EXPECT_EQ(v.region_servers.at("rs1,16020,7"), "{\"load\": 1}");
    EXPECT_EQ(v.generation, 7u);
    EXPECT_EQ(cache.ignored(), 0u);
}

TEST(RegistryCache, ATakeoverAndDeparturesAreSeen) {
    RegistryCache cache;
    cache.node_set("/hbase/master", "m1,16000,1", 0);
    cache.node_set("/hbase/backup-masters/m2,16000,2", "", 0);
    cache.node_set("/hbase/rs/rs1,16020,7", "", 0);
    // m1's session ends; m2 wins the election and leaves the backups.
    cache.node_deleted("/hbase/master");
    EXPECT_FALSE(cache.view().active_master);
    cache.node_set("/hbase/master", "m2,16000,2", 0);
    cache.node_deleted("/hbase/backup-masters/m2,16000,2");
    EXPECT_EQ(cache.view().active_master->str(), "m2,16000,2");
    EXPECT_TRUE(cache.view().backup_masters.empty());
    cache.node_deleted("/hbase/rs/rs1,16020,7");
    EXPECT_TRUE(cache.view().region_servers.empty());
    const uint64_t before = cache.view().generation;
    cache.node_deleted("/hbase/rs/rs1,16020,7");
    cache.node_deleted("/hbase/backup-masters/never,1,1");
    EXPECT_EQ(cache.view().generation, before) << "deleting what is not there changes nothing";
    cache.node_set("/hbase/meta-region-server", "rs9,16020,9", 1);
    cache.node_set("/hbase/meta-region-server", "rs8,16020,9", 2);
    EXPECT_EQ(cache.view().meta->server.host, "rs8");
    EXPECT_EQ(cache.view().meta->version, 2);
    cache.node_deleted("/hbase/meta-region-server");
    EXPECT_FALSE(cache.view().meta);
}

TEST(RegistryCache, WhatDoesNotBelongIsIgnoredAndCounted) {
    RegistryCache cache;
    cache.node_set("/hbase/master", "not a server name", 0);
    cache.node_set("/hbase/meta-region-server", "", 0);
    cache.node_set("/hbase/rs/garbage", "", 0);
    cache.node_set("/hbase/rs/rs1,16020,7/child", "", 0);
    cache.node_set("/hbase/backup-masters/m,0,1", "", 0);
    cache.node_set("/hbase/elsewhere", "", 0);
    cache.node_set("/hbaseid", "x", 0);
    EXPECT_EQ(cache.ignored(), 7u);
    EXPECT_EQ(cache.view().generation, 0u);
    EXPECT_FALSE(cache.view().active_master);
    EXPECT_TRUE(cache.view().region_servers.empty());
    EXPECT_TRUE(cache.view().backup_masters.empty());
}

TEST(RegistryCache, AnActiveMasterOrMetaOverwrittenWithGarbageIsForgotten) {
    RegistryCache cache;
    cache.node_set("/hbase/master", "m1,16000,5", 0, 77);
    cache.node_set("/hbase/meta-region-server", "rs1,16020,7", 1);
    ASSERT_TRUE(cache.view().active_master);
    EXPECT_EQ(cache.view().active_master_session, 77u);
    const uint64_t generation = cache.view().generation;
    cache.node_set("/hbase/master", "garbage", 1, 77);
    cache.node_set("/hbase/meta-region-server", "", 2);
    EXPECT_FALSE(cache.view().active_master);
    EXPECT_EQ(cache.view().active_master_session, 0u);
    EXPECT_FALSE(cache.view().meta);
    EXPECT_EQ(cache.view().generation, generation + 2);
    EXPECT_EQ(cache.ignored(), 2u);
}

TEST(RegistryCache, ClearForgetsAllButMovesTheGenerationOn) {
    RegistryCache cache;
    cache.node_set("/hbase/hbaseid", "id", 0);
    cache.node_set("/hbase/backup-masters/m2,16000,2", "", 0);
    cache.node_set("/hbase/rs/rs1,16020,7", "", 0);
    const uint64_t before = cache.view().generation;
    cache.clear();
    EXPECT_TRUE(cache.view().cluster_id.empty());
    EXPECT_TRUE(cache.view().backup_masters.empty());
    EXPECT_TRUE(cache.view().region_servers.empty());
    EXPECT_EQ(cache.view().generation, before + 1);
    // A backup read again after a clear is not doubled by what was kept.
    cache.node_set("/hbase/backup-masters/m3,16000,3", "", 0);
    ASSERT_EQ(cache.view().backup_masters.size(), 1u);
    EXPECT_EQ(cache.view().backup_masters[0].host, "m3");
}

}  // namespace
}  // namespace chorus::registry
