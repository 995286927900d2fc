# Event-pattern conformance: the corpus in ../shared/conformance/event-patterns
add_executable(patterns_conformance ${CMAKE_CURRENT_SOURCE_DIR}/conformance/patterns_runner.c)
target_link_libraries(patterns_conformance PRIVATE ${SY_ALL_LIBS} PkgConfig::ZMQ PkgConfig::JANSSON
  PkgConfig::PQ PkgConfig::MHD PkgConfig::CURL PkgConfig::CRYPTO PkgConfig::PROTOBUFC Threads::Threads m dl)
add_test(NAME conformance_patterns COMMAND patterns_conformance
  ${CMAKE_SOURCE_DIR}/../shared/conformance/event-patterns)
set_tests_properties(conformance_patterns PROPERTIES LABELS conformance TIMEOUT 300
  ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
