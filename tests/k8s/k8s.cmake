# Label k8s (issue 11): the deployment files (deploy/) checked offline, the
# image built with podman from a locally made Debian base, and the fleet of
# the test overlay under `podman kube play`. See docs/kubernetes.md.
set(SY_K8S_DIR ${CMAKE_SOURCE_DIR}/tests/k8s)
add_test(NAME k8s_manifests COMMAND ${SY_K8S_DIR}/validate_manifests.sh ${CMAKE_SOURCE_DIR})
add_test(NAME k8s_manifests_checker_selftest COMMAND ${SY_K8S_DIR}/validate_manifests.sh ${CMAKE_SOURCE_DIR} --self-test)
add_test(NAME k8s_yamllint COMMAND yamllint -s -c ${CMAKE_SOURCE_DIR}/deploy/.yamllint.yaml ${CMAKE_SOURCE_DIR}/deploy)
set_tests_properties(k8s_manifests k8s_manifests_checker_selftest k8s_yamllint PROPERTIES LABELS k8s TIMEOUT 300)
# podman: the images are built once per run (podman's layer cache and a
# ccache mount make a rebuild cheap), then reused by the tests needing them.
set(SY_K8S_ENV "${SY_TEST_ENV};CONTAINERS_CONF=${CMAKE_SOURCE_DIR}/deploy/podman/containers.conf;PYTHONDONTWRITEBYTECODE=1")
add_test(NAME k8s_images_build COMMAND ${SY_K8S_DIR}/build_images.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(k8s_images_build PROPERTIES LABELS k8s TIMEOUT 2400 FIXTURES_SETUP K8S_IMAGES
  SKIP_RETURN_CODE 77 ENVIRONMENT "${SY_K8S_ENV}")
add_test(NAME k8s_image COMMAND /usr/bin/python3 -W ignore test_image.py WORKING_DIRECTORY ${SY_K8S_DIR})
add_test(NAME k8s_fleet COMMAND /usr/bin/python3 -W ignore test_fleet.py WORKING_DIRECTORY ${SY_K8S_DIR})
set_tests_properties(k8s_image PROPERTIES LABELS k8s TIMEOUT 600 FIXTURES_REQUIRED "PG;K8S_IMAGES"
  SKIP_RETURN_CODE 77 ENVIRONMENT "${SY_K8S_ENV}")
# the fleet binds 7 loopback ports and runs ~10 containers: alone
set_tests_properties(k8s_fleet PROPERTIES LABELS k8s TIMEOUT 1200 FIXTURES_REQUIRED K8S_IMAGES RUN_SERIAL TRUE
  SKIP_RETURN_CODE 77 ENVIRONMENT "${SY_K8S_ENV}")
