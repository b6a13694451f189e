# The package as others use it (run by ctest with cmake -P):
# 1. `cmake --install` the build into a fresh prefix, configure and build the consumer project
#    against it with find_package(s2prep), run it and check its output;
# 2. configure a parent project that add_subdirectory()s the source tree.
# Variables: BUILD_DIR, SOURCE_DIR, WORK_DIR, GENERATOR, CXX_FLAGS (the build's: a library built
# with sanitizers links only into programs built with them).
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "Failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

step(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
foreach(installed include/s2prep/s2prep.hpp bin/s2prep lib/cmake/s2prep/s2prepConfig.cmake
                  share/doc/s2prep/LICENSE)
  if(NOT EXISTS ${WORK_DIR}/prefix/${installed})
    message(FATAL_ERROR "cmake --install did not install ${installed}")
  endif()
endforeach()
file(GLOB_RECURSE private_headers ${WORK_DIR}/prefix/include/*/pipeline/*.hpp)
if(private_headers)
  message(FATAL_ERROR "Internal headers were installed: ${private_headers}")
endif()

step(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package/consumer -B ${WORK_DIR}/consumer
     -G ${GENERATOR} -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix
     "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}")
step(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer)
step(${WORK_DIR}/consumer/consumer)
message(STATUS "consumer output:\n${step_output}")
foreach(expected "version 0.2.0"
                 "acquisition 2023-06-01T10:15:59Z 32TPR 1.0000"
                 "\"complete\":true"
                 "input error (exit 2): cloud_thr must be a probability in [0, 1], not 1.5."
                 "crs ok")
  string(FIND "${step_output}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "The consumer's output lacks '${expected}':\n${step_output}")
  endif()
endforeach()

# From source, inside another project: configuring proves the sources are found relative to
# s2prep's own folder (not the parent's) and that s2prep::s2prep exists.
step(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package/parent -B ${WORK_DIR}/parent -G ${GENERATOR}
     -DS2PREP_SOURCE_DIR=${SOURCE_DIR} -DCMAKE_BUILD_TYPE=Release)
if(NOT EXISTS ${WORK_DIR}/parent/s2prep/generated/core/version.hpp)
  message(FATAL_ERROR "add_subdirectory: s2prep's generated header is not in its own binary dir")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
