#!/bin/bash
# Every START_TEST(name) of the unit suites must be registered with
# tcase_add_test(.., name): a test that is written but never run is a defect.
cd "$(dirname "$0")" || exit 1
defined() { sed -n 's/^START_TEST(\([a-z_0-9]*\)).*/\1/p' test_*.c | sort; }
registered() {
    sed -n 's/.*tcase_add_test([a-z_]*, *\([a-z_0-9]*\)).*/\1/p' test_*.c | sort
}
missing=$(comm -23 <(defined) <(registered))
if [ -n "$missing" ]; then
    echo "unit tests defined but not registered:" $missing >&2
    exit 1
fi
echo "all $(defined | wc -l) unit tests are registered"
