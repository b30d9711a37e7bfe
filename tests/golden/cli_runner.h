// Runs the real `visearch` binary and captures stdout, stderr and the exit status.
#pragma once

#include <sys/wait.h>

#include <unistd.h>
#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace visearch::testing {

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

// `args` is appended to the binary path as-is (quote paths with shell_quote).
inline CliResult run_cli(const std::string& args, const std::string& stdin_file = "") {
  static int counter = 0;
  const std::string err_path =
      "/tmp/visearch_cli_err_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  std::string cmd = std::string(VISEARCH_BINARY) + " " + args + " 2>" + err_path;
  if (!stdin_file.empty()) cmd += " <" + shell_quote(stdin_file);
  CliResult result;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buf{};
  std::size_t got = 0;
  while ((got = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) result.out.append(buf.data(), got);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err(err_path);
  std::stringstream text;
  text << err.rdbuf();
  result.err = text.str();
  std::remove(err_path.c_str());
  return result;
}

}  // namespace visearch::testing
