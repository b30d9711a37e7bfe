# System libraries, all from Debian 12 packages (see .ci/install-deps).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(CLI11 2.1 REQUIRED)
find_package(fmt 9 REQUIRED)
find_package(libjpeg-turbo 2.1 REQUIRED)
find_package(PNG REQUIRED)
pkg_check_modules(WEBP REQUIRED IMPORTED_TARGET libwebp libwebpdemux)
pkg_check_modules(EXIF REQUIRED IMPORTED_TARGET libexif)
find_package(OpenSSL REQUIRED)  # SHA-256 of weight files

# Lean OpenCV (core + imgproc only): resize and drawing. Debian ships the CMake
# config only in the full libopencv-dev, so locate the two libraries directly.
find_path(OPENCV_INCLUDE_DIR opencv2/imgproc.hpp PATH_SUFFIXES opencv4 REQUIRED)
find_library(OPENCV_CORE_LIB opencv_core REQUIRED)
find_library(OPENCV_IMGPROC_LIB opencv_imgproc REQUIRED)
add_library(opencv_lean INTERFACE)
target_include_directories(opencv_lean SYSTEM INTERFACE ${OPENCV_INCLUDE_DIR})
target_link_libraries(opencv_lean INTERFACE ${OPENCV_IMGPROC_LIB} ${OPENCV_CORE_LIB})

# stb_image (libstb-dev) for BMP.
find_path(STB_INCLUDE_DIR stb_image.h PATH_SUFFIXES stb REQUIRED)

# Training (src/train): libtorch 1.13 (libtorch-dev) and the ONNX protobuf classes (libonnx-dev), Debian 12.
find_package(Torch REQUIRED CONFIG)
find_package(ONNX REQUIRED CONFIG)
