// The one instantiation of BothVersions for every engine test file.
#include "broker_test_util.hpp"

INSTANTIATE_TEST_SUITE_P(Engine, BothVersions, ::testing::Values(Version::v3_1_1, Version::v5),
                         [](const auto& param_info) { return param_info.param == Version::v5 ? "v5" : "v311"; });
