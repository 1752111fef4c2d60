#pragma once
// Plots as standalone SVG text, so reports need no plotting library.
#include <string>
#include <utility>
#include <vector>

#include "experiments/report/metrics.h"
#include "experiments/training/trainer.h"

namespace s2::experiments {

// Text made safe for SVG/XML content.
std::string xml_escape(const std::string& s);

// Row-normalised confusion matrix as a heat map, with counts in the cells.
std::string confusion_svg(const Metrics& metrics, const std::vector<std::string>& class_names);

// Loss (left) and accuracy (right) per epoch, one line style per run: training solid, validation dashed.
std::string training_curves_svg(const std::vector<std::pair<std::string, TrainResult>>& runs);

// Heat maps side by side on one colour scale (white to dark red, from the smallest to the largest value
// of all panels): each panel is rows x columns, row-major; an empty panel is drawn as "no samples".
struct HeatmapPanel {
  std::string title;
  std::vector<double> values;
};
std::string heatmap_panels_svg(const std::string& title, const std::vector<std::string>& row_labels,
                               const std::vector<std::string>& column_labels,
                               const std::vector<HeatmapPanel>& panels, int panels_per_row);

// Lines over a shared x axis, one colour per series, with a legend.
struct LineSeries {
  std::string name;
  std::vector<double> values;  // one per x
};
std::string line_chart_svg(const std::string& title, const std::string& x_label, const std::string& y_label,
                           const std::vector<double>& xs, const std::vector<LineSeries>& series);

}  // namespace s2::experiments
