# tests/fuzz/core.cmake - fuzz targets for core/ (included by tests/CMakeLists.txt).
#
# Normal builds (gcc, Debug = ASan+UBSan): each harness links with replay.c
# into <name>_replay, and ctest runs it (label `fuzz`) over its seed corpus
# plus a few thousand deterministic mutations: a smoke run of seconds.
# -DSY_FUZZ=ON with clang: each harness is a real libFuzzer binary <name>,
# and every module library is instrumented for coverage (fuzzer-no-link).
# See docs/fuzzing.md.
set(SY_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})
set(SY_FUZZ_CORE_TARGETS fuzz_sigv4 fuzz_policy)
# bus/: the InputTransformer template renderer
if(EXISTS ${CMAKE_SOURCE_DIR}/bus/eb_transform.c)
  list(APPEND SY_FUZZ_CORE_TARGETS fuzz_transform)
endif()
# These harness the lead's core/form.c and core/json.c; skipped until present.
if(EXISTS ${CMAKE_SOURCE_DIR}/core/json.c AND EXISTS ${CMAKE_SOURCE_DIR}/core/ids.c)
  list(APPEND SY_FUZZ_CORE_TARGETS fuzz_json_request)
endif()
if(EXISTS ${CMAKE_SOURCE_DIR}/core/form.c)
  list(APPEND SY_FUZZ_CORE_TARGETS fuzz_form)
endif()
set(SY_FUZZ_LINK ${SY_ALL_LIBS} PkgConfig::ZMQ PkgConfig::JANSSON PkgConfig::PQ PkgConfig::MHD
  PkgConfig::CURL PkgConfig::CRYPTO PkgConfig::PROTOBUFC Threads::Threads m dl)

if(SY_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "SY_FUZZ=ON needs clang: cmake -DCMAKE_C_COMPILER=clang -DSY_FUZZ=ON ...")
  endif()
  if(NOT SY_FUZZ_LIBS_INSTRUMENTED)
    set(SY_FUZZ_LIBS_INSTRUMENTED ON)
    foreach(lib ${SY_LIBS} sy_proto)
      target_compile_options(${lib} PRIVATE -fsanitize=fuzzer-no-link,address,undefined)
      # everything that links the libraries needs the sanitizer runtimes
      target_link_options(${lib} INTERFACE -fsanitize=address,undefined)
    endforeach()
  endif()
endif()

foreach(f ${SY_FUZZ_CORE_TARGETS})
  if(SY_FUZZ)
    add_executable(${f} ${SY_FUZZ_DIR}/${f}.c)
    target_compile_options(${f} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(${f} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(${f} PRIVATE ${SY_FUZZ_LINK})
  else()
    add_executable(${f}_replay ${SY_FUZZ_DIR}/${f}.c ${SY_FUZZ_DIR}/replay.c)
    target_link_libraries(${f}_replay PRIVATE ${SY_FUZZ_LINK})
    add_test(NAME ${f} COMMAND ${f}_replay ${SY_FUZZ_DIR}/corpus/${f} 4000)
    set_tests_properties(${f} PROPERTIES LABELS fuzz TIMEOUT 120
      ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
  endif()
endforeach()
