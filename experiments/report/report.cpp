#include "experiments/report/report.h"

#include <fmt/format.h>

#include <filesystem>

#include "experiments/report/svg.h"
#include "framework/atomic_file.h"

namespace s2::experiments {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

namespace {

std::string confusion_markdown(const Report& r) {
  std::string md = "| true \\ predicted |";
  for (const auto& n : r.class_names) md += fmt::format(" {} |", n);
  md += "\n|---|";
  for (size_t i = 0; i < r.class_names.size(); ++i) md += "---|";
  md += "\n";
  for (size_t i = 0; i < r.class_names.size(); ++i) {
    md += fmt::format("| {} |", r.class_names[i]);
    for (int64_t v : r.metrics.confusion[i]) md += fmt::format(" {} |", v);
    md += "\n";
  }
  return md;
}
}  // namespace

std::string report_json(const Report& r) {
  const Metrics& m = r.metrics;
  std::string j = "{\n";
  j += fmt::format("  \"title\": {},\n  \"split\": {},\n", json_string(r.title), json_string(r.split_note));
  j += fmt::format(
      "  \"overall_accuracy\": {:.6f},\n  \"kappa\": {:.6f},\n  \"macro_f1\": {:.6f},\n"
      "  \"weighted_f1\": {:.6f},\n",
      m.overall_accuracy, m.kappa, m.macro_f1, m.weighted_f1);
  j += "  \"per_class\": [\n";
  for (size_t i = 0; i < m.per_class.size(); ++i) {
    const auto& c = m.per_class[i];
    j += fmt::format(
        "    {{\"class\": {}, \"precision\": {:.6f}, \"recall\": {:.6f}, \"f1\": {:.6f}, \"support\": "
        "{}}}{}\n",
        json_string(r.class_names[i]), c.precision, c.recall, c.f1, c.support,
        i + 1 < m.per_class.size() ? "," : "");
  }
  j += "  ],\n  \"confusion\": [";
  for (size_t i = 0; i < m.confusion.size(); ++i) {
    j += fmt::format("{}[{}]", i ? ", " : "", fmt::join(m.confusion[i], ", "));
  }
  j += "]";
  if (!r.weights_checksum.empty())
    j += fmt::format(",\n  \"weights_checksum\": {}", json_string(r.weights_checksum));
  if (!r.figures.empty()) {
    std::vector<std::string> names;
    for (const auto& f : r.figures) names.push_back(json_string(f));
    j += fmt::format(",\n  \"figures\": [{}]", fmt::join(names, ", "));
  }
  j += ",\n  \"folds\": [\n";
  for (size_t f = 0; f < r.folds.size(); ++f) {
    const auto& fold = r.folds[f];
    j += fmt::format(
        "    {{\"name\": {}, \"overall_accuracy\": {:.6f}, \"kappa\": {:.6f}, \"macro_f1\": {:.6f}, "
        "\"best_epoch\": {}, \"weights_checksum\": {}, \"history\": [",
        json_string(fold.name), fold.metrics.overall_accuracy, fold.metrics.kappa, fold.metrics.macro_f1,
        fold.training.best_epoch, json_string(fold.weights_checksum));
    for (size_t i = 0; i < fold.training.history.size(); ++i) {
      const auto& e = fold.training.history[i];
      j += fmt::format(
          "{}{{\"epoch\": {}, \"train_loss\": {:.6f}, \"train_accuracy\": {:.6f}, \"val_loss\": {:.6f}, "
          "\"val_accuracy\": {:.6f}, \"samples_per_second\": {:.1f}}}",
          i ? ", " : "", e.epoch, e.train_loss, e.train_accuracy, e.val_loss, e.val_accuracy,
          e.samples_per_second);
    }
    j += fmt::format("]}}{}\n", f + 1 < r.folds.size() ? "," : "");
  }
  j += "  ]\n}\n";
  return j;
}

std::string figure_links(const std::vector<std::string>& figures) {
  std::string md;
  for (const auto& f : figures) md += fmt::format("![{}]({})\n", f, f);
  return md;
}

std::string report_markdown(const Report& r) {
  const Metrics& m = r.metrics;
  std::string md = fmt::format("# {}\n\n{}\n\n", r.title, r.split_note);
  md += fmt::format(
      "| OA | kappa | macro F1 | weighted F1 |\n|---|---|---|---|\n| {:.4f} | {:.4f} | {:.4f} | {:.4f} |\n\n",
      m.overall_accuracy, m.kappa, m.macro_f1, m.weighted_f1);
  md += "| class | precision | recall | F1 | support |\n|---|---|---|---|---|\n";
  for (size_t i = 0; i < m.per_class.size(); ++i) {
    const auto& c = m.per_class[i];
    md += fmt::format("| {} | {:.4f} | {:.4f} | {:.4f} | {} |\n", r.class_names[i], c.precision, c.recall,
                      c.f1, c.support);
  }
  if (!r.weights_checksum.empty()) md += fmt::format("\nWeights checksum: `{}`.\n", r.weights_checksum);
  md += "\n## Confusion matrix\n\n" + confusion_markdown(r) + "\n![confusion matrix](confusion.svg)\n";
  if (r.folds.size() > 1) {
    md += "\n## Folds\n\n| fold | OA | kappa | macro F1 |\n|---|---|---|---|\n";
    for (const auto& f : r.folds) {
      md += fmt::format("| {} | {:.4f} | {:.4f} | {:.4f} |\n", f.name, f.metrics.overall_accuracy,
                        f.metrics.kappa, f.metrics.macro_f1);
    }
  }
  if (!r.folds.empty()) {  // a map evaluation has no training
    md += "\n## Training\n\n![training curves](curves.svg)\n";
  }
  for (const auto& f : r.folds) {
    md += fmt::format("\n{}: kept the weights of epoch {} of {} (weights checksum {}).", f.name,
                      f.training.best_epoch, f.training.history.size(), f.weights_checksum);
  }
  if (!r.figures.empty()) md += "\n## Attention\n\n" + figure_links(r.figures);
  return md + "\n";
}

void write_report(const Report& r, const std::string& dir) {
  std::filesystem::create_directories(dir);
  write_file_atomic((std::filesystem::path(dir) / "report.json").string(), report_json(r));
  write_file_atomic((std::filesystem::path(dir) / "report.md").string(), report_markdown(r));
  write_file_atomic((std::filesystem::path(dir) / "confusion.svg").string(),
                    confusion_svg(r.metrics, r.class_names));
  std::vector<std::pair<std::string, TrainResult>> curves;
  for (const auto& f : r.folds) curves.emplace_back(f.name, f.training);
  if (!curves.empty()) {
    write_file_atomic((std::filesystem::path(dir) / "curves.svg").string(), training_curves_svg(curves));
  }
}

void print_report(const Report& r) {
  const Metrics& m = r.metrics;
  fmt::print("\n== {} ==\n{}\n", r.title, r.split_note);
  fmt::print("OA {:.4f}   kappa {:.4f}   macro F1 {:.4f}   weighted F1 {:.4f}\n\n", m.overall_accuracy,
             m.kappa, m.macro_f1, m.weighted_f1);
  fmt::print("{:<22} {:>9} {:>9} {:>9} {:>8}\n", "class", "precision", "recall", "F1", "support");
  for (size_t i = 0; i < m.per_class.size(); ++i) {
    const auto& c = m.per_class[i];
    fmt::print("{:<22} {:>9.4f} {:>9.4f} {:>9.4f} {:>8}\n", r.class_names[i], c.precision, c.recall, c.f1,
               c.support);
  }
  fmt::print("\nconfusion (rows = true, columns = predicted):\n");
  for (size_t i = 0; i < m.confusion.size(); ++i) {
    fmt::print("{:<22}", r.class_names[i]);
    for (int64_t v : m.confusion[i]) fmt::print(" {:>5}", v);
    fmt::print("\n");
  }
  // One line per model, for comparing runs (bit-identical for a config and seed).
  for (const auto& f : r.folds) fmt::print("weights checksum ({}): {}\n", f.name, f.weights_checksum);
  if (!r.weights_checksum.empty()) fmt::print("weights checksum: {}\n", r.weights_checksum);
}

}  // namespace s2::experiments
