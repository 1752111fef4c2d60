#include "experiments/maps/map_style.h"

#include <fmt/format.h>

#include <filesystem>

#include "data/map_writer.h"
#include "experiments/report/svg.h"
#include "framework/atomic_file.h"

namespace s2::experiments {

std::string qgis_class_style(const std::vector<std::string>& class_names) {
  std::string entries;
  for (size_t k = 1; k <= class_names.size(); ++k) {
    const auto c = data::class_colour(static_cast<int64_t>(k));
    entries += fmt::format(
        "        <paletteEntry value=\"{}\" color=\"#{:02x}{:02x}{:02x}\" alpha=\"255\" label=\"{}\"/>\n", k,
        c[0], c[1], c[2], xml_escape(class_names[k - 1]));
  }
  return fmt::format(
      "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
      "<qgis version=\"3.28.0\" styleCategories=\"Symbology\">\n"
      "  <pipe>\n"
      "    <rasterrenderer type=\"paletted\" band=\"1\" opacity=\"1\" alphaBand=\"-1\" nodataColor=\"\">\n"
      "      <rasterTransparency/>\n"
      "      <colorPalette>\n{}"
      "      </colorPalette>\n"
      "    </rasterrenderer>\n"
      "    <brightnesscontrast brightness=\"0\" contrast=\"0\" gamma=\"1\"/>\n"
      "    <rasterresampler maxOversampling=\"2\"/>\n"
      "  </pipe>\n"
      "  <blendMode>0</blendMode>\n"
      "</qgis>\n",
      entries);
}

void write_qgis_class_style(const std::string& map_path, const std::vector<std::string>& class_names) {
  write_file_atomic(std::filesystem::path(map_path).replace_extension(".qml").string(),
                    qgis_class_style(class_names));
}

}  // namespace s2::experiments
