#pragma once
// Evaluation reports: a JSON file for machines, a Markdown summary for people, and the console table.
#include <string>
#include <vector>

#include "experiments/report/metrics.h"
#include "experiments/training/trainer.h"

namespace s2::experiments {

struct FoldReport {
  std::string name;
  Metrics metrics;
  TrainResult training;
  std::string weights_checksum;  // of the kept model's weights and buffers (framework/checkpoint.h)
};

struct Report {
  std::string title;
  std::string split_note;  // how train and test were separated
  std::vector<std::string> class_names;
  Metrics metrics;  // over all folds (summed confusion matrices)
  std::vector<FoldReport> folds;
  std::string weights_checksum;      // of the evaluated model (evaluate); empty when there is none
  std::vector<std::string> figures;  // further SVG files beside the report (evaluate --attention yes)
};

std::string report_json(const Report& r);
// `s` as a JSON string literal (quoted, with quotes, backslashes and newlines escaped).
std::string json_string(const std::string& s);
std::string report_markdown(const Report& r);
// Markdown image links to SVG files beside the report, one per line.
std::string figure_links(const std::vector<std::string>& figures);
// Writes report.json, report.md, confusion.svg and (when there was training) curves.svg into `dir`,
// each atomically.
void write_report(const Report& r, const std::string& dir);
void print_report(const Report& r);

}  // namespace s2::experiments
