# Writes a C++ source file that holds a file's bytes, for data compiled into the binary:
#   cmake -DINPUT=doc.json -DOUTPUT=doc.cpp -DNAMESPACE=visearch::server -DSYMBOL=kDoc [-DCHECK_JSON=ON] -P embed_file.cmake
# The source defines `extern const std::string_view SYMBOL` in NAMESPACE. With CHECK_JSON the build fails when
# INPUT is not valid JSON, naming where it breaks.
foreach(var INPUT OUTPUT NAMESPACE SYMBOL)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed_file.cmake: -D${var}=... is required")
  endif()
endforeach()
if(CHECK_JSON)
  file(READ "${INPUT}" text)
  string(JSON kind ERROR_VARIABLE json_error TYPE "${text}")
  if(json_error)
    message(FATAL_ERROR "${INPUT} is not valid JSON: ${json_error}")
  endif()
endif()
file(READ "${INPUT}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
string(REPEAT "'[^']*'," 16 line)
string(REGEX REPLACE "(${line})" "\\1\n    " bytes "${bytes}")
get_filename_component(input_name "${INPUT}" NAME)
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${input_name} by cmake/embed_file.cmake at build time; do not edit.\n"
  "#include <string_view>\n\n"
  "namespace ${NAMESPACE} {\n"
  "namespace {\n"
  "constexpr char kBytes[] = {\n    ${bytes}};\n"
  "}  // namespace\n"
  "extern const std::string_view ${SYMBOL};\n"
  "const std::string_view ${SYMBOL}{kBytes, sizeof kBytes};\n"
  "}  // namespace ${NAMESPACE}\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
