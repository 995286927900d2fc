# JSONata reference suite (issue 13): ../shared/conformance/jsonata through asl/jsonata.h.
add_executable(jsonata_conformance ${CMAKE_CURRENT_LIST_DIR}/jsonata_runner.c)
target_link_libraries(jsonata_conformance PRIVATE ${SY_ALL_LIBS} PkgConfig::ZMQ PkgConfig::JANSSON PkgConfig::PQ
  PkgConfig::MHD PkgConfig::CURL PkgConfig::CRYPTO PkgConfig::PROTOBUFC Threads::Threads m dl)
add_test(NAME conformance_jsonata COMMAND jsonata_conformance ${CMAKE_SOURCE_DIR}/../shared/conformance/jsonata 99.0)
set_tests_properties(conformance_jsonata PROPERTIES LABELS conformance TIMEOUT 600
  ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
