# Worker pool + worker process tests over real ZeroMQ sockets (label zmq).
add_library(sy_test_handler MODULE ${CMAKE_SOURCE_DIR}/tests/worker/test_handler.c)
set_target_properties(sy_test_handler PROPERTIES PREFIX "" LIBRARY_OUTPUT_DIRECTORY
  ${CMAKE_BINARY_DIR}/tests/worker)
if(CMOCKA_FOUND)
  # one cmocka executable per test file, each run against real worker processes
  function(sy_worker_test exe name)
    add_executable(${exe} ${CMAKE_SOURCE_DIR}/tests/worker/${exe}.c)
    target_link_libraries(${exe} PRIVATE ${SY_ALL_LIBS} PkgConfig::CMOCKA PkgConfig::ZMQ
      PkgConfig::JANSSON PkgConfig::PQ PkgConfig::MHD PkgConfig::CURL PkgConfig::CRYPTO
      PkgConfig::PROTOBUFC Threads::Threads m dl)
    add_dependencies(${exe} sy_test_handler switchyard)
    add_test(NAME ${name} COMMAND ${exe})
    set_tests_properties(${name} PROPERTIES LABELS zmq TIMEOUT 300
      ENVIRONMENT "${SY_TEST_ENV};SY_TEST_HANDLER=${CMAKE_BINARY_DIR}/tests/worker/sy_test_handler.so")
  endfunction()
  sy_worker_test(test_worker_zmq zmq_worker)
  sy_worker_test(test_worker_protocol zmq_worker_protocol)
  sy_worker_test(test_worker_runtime zmq_worker_runtime)
  sy_worker_test(test_worker_inline zmq_worker_inline)
endif()
