#pragma once
// Evaluation reports: a JSON file for machines, a Markdown summary for people, and the console table.
#include <string>
#include <vector>

#include "experiments/metrics.h"
#include "experiments/trainer.h"

namespace s2::experiments {

struct Report {
  std::string title;
  std::string split_note;  // how train and test were separated
  std::vector<std::string> class_names;
  Metrics metrics;
  TrainResult training;
};

std::string report_json(const Report& r);
std::string report_markdown(const Report& r);
// Writes report.json and report.md into `dir` atomically.
void write_report(const Report& r, const std::string& dir);
void print_report(const Report& r);

}  // namespace s2::experiments
