#pragma once
// A QGIS layer style for a class map: QGIS loads <stem>.qml beside <stem>.tif by itself, so the map
// opens with its legend (class names and the colours of data::class_colour).
#include <string>
#include <vector>

namespace s2::experiments {

// The style file's text: a paletted renderer of band 1, one entry per class (1..K), 0 transparent.
std::string qgis_class_style(const std::vector<std::string>& class_names);
// Writes it atomically as <stem>.qml for the map <stem>.tif.
void write_qgis_class_style(const std::string& map_path, const std::vector<std::string>& class_names);

}  // namespace s2::experiments
