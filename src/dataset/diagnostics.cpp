#include "dataset/diagnostics.h"

#include <algorithm>

namespace visearch::dataset {

std::string Diagnostic::to_string() const {
  std::string out;
  if (!file.empty()) {
    out += file;
    if (line > 0) out += ":" + std::to_string(line);
    out += ": ";
  }
  out += severity_name(severity);
  out += ": ";
  out += message;
  return out;
}

void add_error(Diagnostics& out, std::string file, int line, std::string message) {
  out.push_back(Diagnostic{Severity::kError, std::move(file), line, std::move(message), {}});
}

void add_warning(Diagnostics& out, std::string file, int line, std::string message) {
  out.push_back(Diagnostic{Severity::kWarning, std::move(file), line, std::move(message), {}});
}

std::size_t count_errors(const Diagnostics& diagnostics) {
  return static_cast<std::size_t>(
      std::count_if(diagnostics.begin(), diagnostics.end(),
                    [](const Diagnostic& d) { return d.severity == Severity::kError; }));
}

std::size_t count_warnings(const Diagnostics& diagnostics) {
  return diagnostics.size() - count_errors(diagnostics);
}

Diagnostic diagnostic_from_error(const std::string& file, const Error& error, Severity severity) {
  Diagnostic d{severity, file, 0, error.message, {}};
  const std::string& m = error.message;
  if (file.empty() || m.rfind(file, 0) != 0 || m.size() <= file.size() || m[file.size()] != ':') return d;
  if (m.compare(file.size(), 2, ": ") == 0) {
    d.message = m.substr(file.size() + 2);
    return d;
  }
  std::size_t i = file.size() + 1;
  int line = 0;
  while (i < m.size() && m[i] >= '0' && m[i] <= '9' && line < 100'000'000) line = line * 10 + (m[i++] - '0');
  if (i < m.size() && m[i] == ':' && i + 1 < m.size() && m[i + 1] >= '0' && m[i + 1] <= '9') {
    ++i;
    while (i < m.size() && m[i] >= '0' && m[i] <= '9') ++i;
  }
  if (m.compare(i, 2, ": ") != 0) return d;
  d.line = line;
  d.message = m.substr(i + 2);
  return d;
}

std::string_view severity_name(Severity severity) {
  return severity == Severity::kError ? "error" : "warning";
}

nlohmann::json to_json(const Diagnostic& diagnostic) {
  nlohmann::json out{{"severity", severity_name(diagnostic.severity)}, {"message", diagnostic.message}};
  if (!diagnostic.file.empty()) out["file"] = diagnostic.file;
  if (diagnostic.line > 0) out["line"] = diagnostic.line;
  return out;
}

}  // namespace visearch::dataset
