// Diagnostics: problems found while reading, checking or writing a data set, each tied to a file and,
// where known, a 1-based line. Readers never stop at the first problem: they record a Diagnostic, skip
// what is broken and go on, so one bad file never hides the state of the others.
//
// Thread-safety: plain values.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace visearch::dataset {

enum class Severity { kWarning, kError };

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string file;  // empty when the problem is not tied to one file
  int line = 0;      // 1-based; 0 = the whole file
  std::string message;
  // The split (data.yaml key: train, val, test) when the problem is a whole split's source, e.g. a folder
  // data.yaml names that is missing; empty otherwise. A tool that reads one split may ignore the others'.
  std::string split;

  // "file:line: error: message" (line omitted when 0, file omitted when empty).
  [[nodiscard]] std::string to_string() const;
};

using Diagnostics = std::vector<Diagnostic>;

void add_error(Diagnostics& out, std::string file, int line, std::string message);
void add_warning(Diagnostics& out, std::string file, int line, std::string message);
std::size_t count_errors(const Diagnostics& diagnostics);
std::size_t count_warnings(const Diagnostics& diagnostics);

// An Error whose message starts with "<file>:<line>[:<col>]: " becomes a Diagnostic with that line and
// the rest of the message; other errors keep their whole message.
Diagnostic diagnostic_from_error(const std::string& file, const Error& error,
                                 Severity severity = Severity::kError);

std::string_view severity_name(Severity severity);
nlohmann::json to_json(const Diagnostic& diagnostic);

}  // namespace visearch::dataset
