// The hand-built test mails of tests/mail/ and their expected outcomes (tests/mail/EXPECTED.tsv),
// for the unit and the end-to-end tests of "every mail accounted for". Header-only: the unit
// tests link no test-support library.
#pragma once

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace switchboard::testing {

inline std::string test_mail(const std::string& name) {
  std::ifstream in(std::string(SWITCHBOARD_SOURCE_DIR) + "/tests/mail/" + name, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct ExpectedMail {
  std::string file;
  std::string outcome;  // person | unsure | automatic | system:KIND
  std::string sender;   // the identity stored; "unknown" for the mailbox's unknown sender
};

inline std::vector<ExpectedMail> expected_mails() {
  std::ifstream in(std::string(SWITCHBOARD_SOURCE_DIR) + "/tests/mail/EXPECTED.tsv");
  REQUIRE(in.good());
  std::vector<ExpectedMail> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    ExpectedMail e;
    std::getline(fields, e.file, '\t');
    std::getline(fields, e.outcome, '\t');
    std::getline(fields, e.sender, '\t');
    out.push_back(e);
  }
  return out;
}

}  // namespace switchboard::testing
