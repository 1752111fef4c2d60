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

}  // namespace s2::experiments
