#pragma once
// CSV fields as spreadsheets write them: commas separate, double quotes protect commas and quotes
// ("" inside quotes is one ").
#include <string>
#include <vector>

namespace s2::data {

// The fields of one line (a trailing carriage return is dropped).
std::vector<std::string> csv_fields(const std::string& line);
// `s` as one field: quoted when it holds a comma, a quote or a line break.
std::string csv_quote(const std::string& s);

}  // namespace s2::data
