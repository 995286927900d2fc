# ASL interpreter conformance (asl/): execution and validation corpora.
add_executable(sfn_asl_conformance ${CMAKE_CURRENT_LIST_DIR}/sfn_asl_conformance.c ${CMAKE_CURRENT_LIST_DIR}/sfn_compare.c)
target_link_libraries(sfn_asl_conformance PRIVATE ${SY_ALL_LIBS} PkgConfig::ZMQ PkgConfig::JANSSON PkgConfig::PQ
  PkgConfig::MHD PkgConfig::CURL PkgConfig::CRYPTO PkgConfig::PROTOBUFC Threads::Threads m dl)
set(SY_SFN_CORPUS ${CMAKE_SOURCE_DIR}/../shared/conformance)
# Thresholds (here and for conformance_asl_api below): the figures reached so far, so the tests guard against regressions.
add_test(NAME conformance_asl_exec COMMAND sfn_asl_conformance exec ${SY_SFN_CORPUS}/asl 99.5)
add_test(NAME conformance_asl_validate COMMAND sfn_asl_conformance validate ${SY_SFN_CORPUS}/asl-validate 100.0 96.0)
set_tests_properties(conformance_asl_exec conformance_asl_validate PROPERTIES LABELS conformance TIMEOUT 600
  ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
# The same corpus through the real API: `switchyard serve` on a fresh database of the
# test PostgreSQL, a `switchyard worker` hosting the recorded Lambdas (standins.c), the
# outcomes compared by `sfn_asl_conformance results` (same rules as in process).
add_library(sy_asl_standins MODULE ${CMAKE_CURRENT_LIST_DIR}/standins.c)
target_include_directories(sy_asl_standins PRIVATE ${CMAKE_SOURCE_DIR}/include)
set_target_properties(sy_asl_standins PROPERTIES PREFIX "" LIBRARY_OUTPUT_DIRECTORY
  ${CMAKE_BINARY_DIR}/tests/conformance)
add_dependencies(sfn_asl_conformance sy_asl_standins)
find_program(SY_ASL_PY python3)
add_test(NAME conformance_asl_api COMMAND ${SY_ASL_PY} ${CMAKE_CURRENT_LIST_DIR}/sfn_asl_api.py
  --corpus ${SY_SFN_CORPUS}/asl --compare $<TARGET_FILE:sfn_asl_conformance>
  --standins $<TARGET_FILE:sy_asl_standins> --min-pct 99.0)
set_tests_properties(conformance_asl_api PROPERTIES LABELS conformance TIMEOUT 1200 FIXTURES_REQUIRED PG
  ENVIRONMENT "${SY_TEST_ENV};PYTHONDONTWRITEBYTECODE=1")
