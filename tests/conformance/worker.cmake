# Worker pool + worker process tests over real ZeroMQ sockets (label zmq).
add_library(sy_test_handler MODULE ${CMAKE_SOURCE_DIR}/tests/worker/test_handler.c)
set_target_properties(sy_test_handler PROPERTIES PREFIX "" LIBRARY_OUTPUT_DIRECTORY
  ${CMAKE_BINARY_DIR}/tests/worker)
if(CMOCKA_FOUND)
  add_executable(test_worker_zmq ${CMAKE_SOURCE_DIR}/tests/worker/test_worker_zmq.c)
  target_link_libraries(test_worker_zmq PRIVATE ${SY_ALL_LIBS} PkgConfig::CMOCKA PkgConfig::ZMQ
    PkgConfig::JANSSON PkgConfig::PQ PkgConfig::MHD PkgConfig::CURL PkgConfig::CRYPTO
    PkgConfig::PROTOBUFC Threads::Threads m dl)
  add_dependencies(test_worker_zmq sy_test_handler switchyard)
  add_test(NAME zmq_worker COMMAND test_worker_zmq)
  set_tests_properties(zmq_worker PROPERTIES LABELS zmq TIMEOUT 300
    ENVIRONMENT "${SY_TEST_ENV};SY_TEST_HANDLER=${CMAKE_BINARY_DIR}/tests/worker/sy_test_handler.so")
  add_executable(test_worker_protocol ${CMAKE_SOURCE_DIR}/tests/worker/test_worker_protocol.c)
  target_link_libraries(test_worker_protocol PRIVATE ${SY_ALL_LIBS} PkgConfig::CMOCKA PkgConfig::ZMQ
    PkgConfig::JANSSON PkgConfig::PQ PkgConfig::MHD PkgConfig::CURL PkgConfig::CRYPTO
    PkgConfig::PROTOBUFC Threads::Threads m dl)
  add_dependencies(test_worker_protocol sy_test_handler switchyard)
  add_test(NAME zmq_worker_protocol COMMAND test_worker_protocol)
  set_tests_properties(zmq_worker_protocol PROPERTIES LABELS zmq TIMEOUT 300
    ENVIRONMENT "${SY_TEST_ENV};SY_TEST_HANDLER=${CMAKE_BINARY_DIR}/tests/worker/sy_test_handler.so")
  add_executable(test_worker_runtime ${CMAKE_SOURCE_DIR}/tests/worker/test_worker_runtime.c)
  target_link_libraries(test_worker_runtime PRIVATE ${SY_ALL_LIBS} PkgConfig::CMOCKA PkgConfig::ZMQ
    PkgConfig::JANSSON PkgConfig::PQ PkgConfig::MHD PkgConfig::CURL PkgConfig::CRYPTO
    PkgConfig::PROTOBUFC Threads::Threads m dl)
  add_dependencies(test_worker_runtime sy_test_handler switchyard)
  add_test(NAME zmq_worker_runtime COMMAND test_worker_runtime)
  set_tests_properties(zmq_worker_runtime PROPERTIES LABELS zmq TIMEOUT 300
    ENVIRONMENT "${SY_TEST_ENV};SY_TEST_HANDLER=${CMAKE_BINARY_DIR}/tests/worker/sy_test_handler.so")
endif()
