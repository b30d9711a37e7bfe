# ONNX Runtime, C/C++ API. visearch loads the shared library at run time with
# dlopen (ORT_API_MANUAL_INIT), so the same binary runs against any ORT >= the
# header's API version. Headers come from, in order:
#   1. -DONNXRUNTIME_ROOT=<dir with include/ and lib/> (Microsoft release tarball, custom build)
#   2. a system install (/usr/include/onnxruntime, e.g. Debian 13 libonnxruntime-dev)
#   3. the pinned npm package in third_party/onnxruntime (npm ci --prefix third_party/onnxruntime)
set(ONNXRUNTIME_ROOT "" CACHE PATH "ONNX Runtime root (include/ and lib/)")
set(_ort_npm ${CMAKE_CURRENT_SOURCE_DIR}/third_party/onnxruntime/node_modules/com.github.asus4.onnxruntime)
set(_ort_npm_headers "${_ort_npm}/Plugins/iOS~/onnxruntime.xcframework/ios-arm64/onnxruntime.framework/Headers")

set(ORT_INCLUDE_DIR "")
set(ORT_LIBRARY "")
if(ONNXRUNTIME_ROOT)
  find_path(ORT_INCLUDE_DIR onnxruntime_cxx_api.h PATHS ${ONNXRUNTIME_ROOT}/include ${ONNXRUNTIME_ROOT}/include/onnxruntime NO_DEFAULT_PATH)
  find_library(ORT_LIBRARY onnxruntime PATHS ${ONNXRUNTIME_ROOT}/lib NO_DEFAULT_PATH)
elseif(EXISTS /usr/include/onnxruntime/onnxruntime_cxx_api.h)
  set(ORT_INCLUDE_DIR /usr/include/onnxruntime)
  find_library(ORT_LIBRARY onnxruntime)
elseif(EXISTS "${_ort_npm_headers}/onnxruntime_cxx_api.h")
  file(COPY "${_ort_npm_headers}/" DESTINATION ${CMAKE_BINARY_DIR}/ort/include)
  set(ORT_INCLUDE_DIR ${CMAKE_BINARY_DIR}/ort/include)
  # The npm file is named libonnxruntime.so but its SONAME is libonnxruntime.so.1.
  file(CREATE_LINK "${_ort_npm}/Plugins/Linux/x64/libonnxruntime.so" ${CMAKE_BINARY_DIR}/ort/libonnxruntime.so.1 SYMBOLIC)
  set(ORT_LIBRARY ${CMAKE_BINARY_DIR}/ort/libonnxruntime.so.1)
endif()
if(NOT ORT_INCLUDE_DIR OR NOT ORT_LIBRARY)
  message(FATAL_ERROR "ONNX Runtime not found. Run `npm ci --prefix third_party/onnxruntime` "
                      "(or .ci/install-deps), or pass -DONNXRUNTIME_ROOT=<dir with include/ and lib/>.")
endif()
message(STATUS "ONNX Runtime headers: ${ORT_INCLUDE_DIR}; library: ${ORT_LIBRARY}")
add_library(onnxruntime_headers INTERFACE)
target_include_directories(onnxruntime_headers SYSTEM INTERFACE ${ORT_INCLUDE_DIR})
# The library is found at run time beside the binary (src/runtime/onnxruntime/ort_session.cpp): no path
# of this machine is compiled in.
target_compile_definitions(onnxruntime_headers INTERFACE ORT_API_MANUAL_INIT)
