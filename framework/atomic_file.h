#pragma once
// Writes a file so that readers see the old content or the complete new one, never a partial file:
// the bytes go to a temporary in the same folder, are fsynced, and the temporary is renamed.
#include <string>
#include <string_view>

namespace s2 {

void write_file_atomic(const std::string& path, std::string_view bytes);
std::string read_file(const std::string& path);

}  // namespace s2
