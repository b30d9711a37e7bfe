# Writes a C++ source file that holds every file under a folder, for web pages compiled into the binary:
#   cmake -DINPUT_DIR=web -DOUTPUT=web_files.cpp -DNAMESPACE=visearch::server -DSYMBOL=kWebFiles -P embed_dir.cmake
# The source defines `extern const std::span<const EmbeddedFile> SYMBOL` in NAMESPACE, one entry per file
# (path relative to INPUT_DIR with '/' separators, its bytes, and a strong ETag from its SHA-1, computed
# here once instead of per request), sorted by path; EmbeddedFile comes from
# server/embedded_files.h.
foreach(var INPUT_DIR OUTPUT NAMESPACE SYMBOL)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed_dir.cmake: -D${var}=... is required")
  endif()
endforeach()
file(GLOB_RECURSE files RELATIVE "${INPUT_DIR}" "${INPUT_DIR}/*")
list(SORT files)
set(arrays "")
set(entries "")
set(index 0)
foreach(rel IN LISTS files)
  file(READ "${INPUT_DIR}/${rel}" hex HEX)
  file(SHA1 "${INPUT_DIR}/${rel}" sha1)
  string(SUBSTRING "${sha1}" 0 16 etag)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
  string(REPEAT "'[^']*'," 16 line)
  string(REGEX REPLACE "(${line})" "\\1\n    " bytes "${bytes}")
  if(bytes STREQUAL "")
    set(bytes "'\\\\0'")  # an empty file still needs an array; its size is given as 0
    set(size 0)
  else()
    set(size "sizeof kFile${index}")
  endif()
  string(APPEND arrays "constexpr char kFile${index}[] = {\n    ${bytes}};\n")
  string(APPEND entries "    EmbeddedFile{\"${rel}\", std::string_view(kFile${index}, ${size}), \"\\\"${etag}\\\"\"},\n")
  math(EXPR index "${index} + 1")
endforeach()
file(WRITE "${OUTPUT}.tmp"
  "// Generated from a folder by cmake/embed_dir.cmake at build time; do not edit.\n"
  "#include <array>\n#include <span>\n#include <string_view>\n\n"
  "#include \"server/embedded_files.h\"\n\n"
  "namespace ${NAMESPACE} {\n"
  "namespace {\n"
  "${arrays}"
  "constexpr std::array<EmbeddedFile, ${index}> kAll{{\n${entries}}};\n"
  "}  // namespace\n"
  "extern const std::span<const EmbeddedFile> ${SYMBOL};\n"
  "const std::span<const EmbeddedFile> ${SYMBOL}{kAll};\n"
  "}  // namespace ${NAMESPACE}\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
