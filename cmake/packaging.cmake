# `cmake --install` and `cpack -G DEB`: the binary, the files it ships with, and the docs, in the layout
# src/core/install_layout.h looks for relative to the binary:
#   PREFIX/bin/visearch
#   PREFIX/lib/visearch/libonnxruntime.so.1   (the pinned npm build, when that is what the build used)
#   PREFIX/share/visearch/{models,data,web}   (model specs, class and label maps, the web pages)
#   PREFIX/share/doc/visearch/                (README, ARCHITECTURE, docs/)
# Model weights are not shipped (their licences differ): put them in /var/lib/visearch/models, or give
# --model-dir / VISEARCH_MODEL_PATH.
include(GNUInstallDirs)

install(TARGETS visearch RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/models/ DESTINATION ${CMAKE_INSTALL_DATADIR}/visearch/models
        FILES_MATCHING PATTERN "*.json")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/data/class_maps ${PROJECT_SOURCE_DIR}/data/label_maps
                  ${PROJECT_SOURCE_DIR}/data/search
        DESTINATION ${CMAKE_INSTALL_DATADIR}/visearch/data)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/web/ DESTINATION ${CMAKE_INSTALL_DATADIR}/visearch/web)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/ARCHITECTURE.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
# ONNX Runtime is dlopen()ed (ort_session.cpp). A system ORT (Debian 13's libonnxruntime) is found on the
# library path; the npm build this project pins is carried in the package, as its one private library.
if(ORT_LIBRARY MATCHES "^${CMAKE_BINARY_DIR}/ort/")
  get_filename_component(_ort_real "${ORT_LIBRARY}" REALPATH)
  install(FILES "${_ort_real}" DESTINATION lib/visearch RENAME libonnxruntime.so.1)
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME visearch)
set(CPACK_PACKAGE_VENDOR "visearch")
set(CPACK_PACKAGE_CONTACT "visearch maintainers <visearch@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Self-hosted object detection and visual search service (CLI + HTTP)")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
    "visearch detects objects in photos with ONNX models on CPU, serves them over HTTP (SageMaker and KServe v2 "
    "contracts), evaluates and compares models, labels and trains custom classes, and runs visual product "
    "search. Model weights are not included.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # Depends: from the libraries the binary links (dpkg-shlibdeps)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${CMAKE_INSTALL_PREFIX}/lib/visearch)
set(CPACK_DEBIAN_COMPRESSION_TYPE gzip)  # fast to build; xz saves a fifth for minutes more
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://localhost/visearch")
include(CPack)
