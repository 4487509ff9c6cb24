// Steps the reconfiguration review tests share (they use gtest's ASSERTs:
// call them inside ASSERT_NO_FATAL_FAILURE).
#pragma once

#include <gtest/gtest.h>

#include "tests/support/ensemble.h"

namespace chorus::zab {

// Bootstrap {1,2,3} elects 3, which adds 4 and 5 (outside the bootstrap
// membership) as observers, syncs them, and promotes them: voters 1..5.
inline void grow_by_four_and_five(chorus::testing::Ensemble& e) {
    using chorus::testing::joiner_disk;
    using chorus::testing::promoted;
    using chorus::testing::with_observer;
    const ServerId L = e.elect();
    ASSERT_EQ(L, 3u);
    e.tick(3);
    for (ServerId id : {4, 5}) {
        ASSERT_TRUE(
            e.change_membership(L, with_observer(e.core(L).membership(), id), 100 + id).is_ok());
        e.start(id, joiner_disk(e.core(L).membership()), false);
        e.tick(5);
        ASSERT_TRUE(e.core(id).serving()) << id << " synced as an observer";
        ASSERT_TRUE(e.change_membership(L, promoted(e.core(L).membership(), id), 110 + id).is_ok());
    }
}

}  // namespace chorus::zab
