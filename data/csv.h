#pragma once
// CSV fields as spreadsheets write them: commas separate, double quotes protect commas and quotes
// ("" inside quotes is one ").
#include <cstdint>
#include <string>
#include <vector>

namespace s2::data {

// The non-blank lines of a text file, line ends (LF or CRLF) removed, each with its 1-based number;
// a file that cannot be opened is an error naming it as `what` ("coordinates file").
struct NumberedLine {
  int64_t number = 0;
  std::string text;
};
std::vector<NumberedLine> read_lines(const std::string& path, const std::string& what);

// The fields of one line (a trailing carriage return is dropped).
std::vector<std::string> csv_fields(const std::string& line);
// `s` as one field: quoted when it holds a comma, a quote or a line break.
std::string csv_quote(const std::string& s);

}  // namespace s2::data
