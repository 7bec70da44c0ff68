// A compiler-style message about a rules or config file: "file:line:col: error: text".
#pragma once

#include <string>
#include <vector>

namespace switchboard {

struct Diagnostic {
  enum class Severity { error, warning };
  Severity severity = Severity::error;
  std::string file;
  int line = 0;    // 1-based; 0 when the position is unknown
  int column = 0;  // 1-based
  std::string message;  // lower-case, no final period

  std::string format() const;  // "file:line:col: error: message"
};

bool has_errors(const std::vector<Diagnostic>& diagnostics);

}  // namespace switchboard
