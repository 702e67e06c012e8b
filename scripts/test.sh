#!/usr/bin/env bash
# Runs Kite's whole test suite: unit and instruction tests, then the differential tester
# against the host CPU. This is what CI runs (.ci/run).
source "$(dirname "$0")/common.sh"
require_swift
ensure_build_libraries

# The guest kernels first: Tests/BareMetalTests boots every one of them.
bash scripts/build-guests.sh

swift build --build-tests
swift test --skip-build 2>&1 | tee .build/test-output.txt
# The differential tester prints "N passed, M failed" last and fails when M > 0.
swift run -c release kite-difftest --seed "${KITE_DIFFTEST_SEED:-1}" --count "${KITE_DIFFTEST_COUNT:-20000}"
