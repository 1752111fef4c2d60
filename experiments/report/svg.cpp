#include "experiments/report/svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>

namespace s2::experiments {

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

namespace {

const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                          "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};
}  // namespace

std::string confusion_svg(const Metrics& m, const std::vector<std::string>& names) {
  const int k = static_cast<int>(names.size()), cell = 44, left = 170, top = 150;
  const int size = left + k * cell + 20, height = top + k * cell + 40;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" "
      "font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{}\" y=\"20\" font-size=\"14\">Confusion matrix (rows: true, columns: predicted; colour: "
      "row share)</text>\n",
      size, height, 10);
  for (int i = 0; i < k; ++i) {
    int64_t row_total = 0;
    for (int64_t v : m.confusion[static_cast<size_t>(i)]) row_total += v;
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", left - 6,
                       top + i * cell + cell / 2 + 4, xml_escape(names[static_cast<size_t>(i)]));
    svg += fmt::format("<text transform=\"translate({},{}) rotate(-50)\">{}</text>\n",
                       left + i * cell + cell / 2, top - 6, xml_escape(names[static_cast<size_t>(i)]));
    for (int j = 0; j < k; ++j) {
      const int64_t v = m.confusion[static_cast<size_t>(i)][static_cast<size_t>(j)];
      const double share = row_total > 0 ? static_cast<double>(v) / static_cast<double>(row_total) : 0.0;
      const int shade = 255 - static_cast<int>(share * 200);
      svg += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"rgb({},{},255)\" stroke=\"#999\"/>\n",
          left + j * cell, top + i * cell, cell, cell, shade, shade);
      svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{}\">{}</text>\n",
                         left + j * cell + cell / 2, top + i * cell + cell / 2 + 4,
                         share > 0.6 ? "white" : "black", v);
    }
  }
  svg += fmt::format("<text x=\"{}\" y=\"{}\">OA {:.4f}  kappa {:.4f}  macro F1 {:.4f}</text>\n</svg>\n", 10,
                     height - 12, m.overall_accuracy, m.kappa, m.macro_f1);
  return svg;
}

std::string training_curves_svg(const std::vector<std::pair<std::string, TrainResult>>& runs) {
  const int panel_w = 360, panel_h = 240, margin = 50;
  size_t epochs = 1;
  double max_loss = 1e-6;
  for (const auto& [name, r] : runs) {
    epochs = std::max(epochs, r.history.size());
    for (const auto& e : r.history) max_loss = std::max({max_loss, e.train_loss, e.val_loss});
  }
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" "
      "font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      2 * (panel_w + margin) + margin, panel_h + 2 * margin + 20 * static_cast<int>(runs.size()));
  auto panel = [&](int x0, const char* title, double y_max,
                   const std::function<double(const EpochLog&)>& train,
                   const std::function<double(const EpochLog&)>& val) {
    svg +=
        fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"black\"/>\n",
                    x0, margin, panel_w, panel_h);
    svg += fmt::format("<text x=\"{}\" y=\"{}\">{} (0 to {:.2f}) by epoch (1 to {})</text>\n", x0, margin - 8,
                       title, y_max, epochs);
    for (size_t r = 0; r < runs.size(); ++r) {
      const auto& history = runs[r].second.history;
      for (int kind = 0; kind < 2; ++kind) {
        std::string points;
        for (size_t i = 0; i < history.size(); ++i) {
          const double v = kind == 0 ? train(history[i]) : val(history[i]);
          if (kind == 1 && history[i].val_loss == 0 && history[i].val_accuracy == 0)
            continue;  // no validation
          const double x =
              x0 + (epochs > 1 ? static_cast<double>(i) / static_cast<double>(epochs - 1) : 0.5) * panel_w;
          const double y = margin + panel_h * (1.0 - std::clamp(v / y_max, 0.0, 1.0));
          points += fmt::format("{:.1f},{:.1f} ", x, y);
        }
        if (points.empty()) continue;
        svg += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\"{}/>\n",
                           points, kColours[r % 8], kind == 1 ? " stroke-dasharray=\"5,3\"" : "");
      }
    }
  };
  panel(
      margin, "loss", max_loss, [](const EpochLog& e) { return e.train_loss; },
      [](const EpochLog& e) { return e.val_loss; });
  panel(
      2 * margin + panel_w, "accuracy", 1.0, [](const EpochLog& e) { return e.train_accuracy; },
      [](const EpochLog& e) { return e.val_accuracy; });
  for (size_t r = 0; r < runs.size(); ++r) {
    svg += fmt::format("<text x=\"{}\" y=\"{}\" fill=\"{}\">{}: training solid, validation dashed</text>\n",
                       margin, 2 * margin + panel_h + 20 * static_cast<int>(r), kColours[r % 8],
                       xml_escape(runs[r].first));
  }
  return svg + "</svg>\n";
}

}  // namespace s2::experiments
