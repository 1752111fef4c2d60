#include "experiments/report/svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <iterator>
#include <stdexcept>

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

std::string heatmap_panels_svg(const std::string& title, const std::vector<std::string>& row_labels,
                               const std::vector<std::string>& column_labels,
                               const std::vector<HeatmapPanel>& panels, int panels_per_row) {
  const int rows = static_cast<int>(row_labels.size()), cols = static_cast<int>(column_labels.size());
  const int cell_w = 14, cell_h = 10, left = 86, top = 64, gap = 24;
  const int panel_w = left + cols * cell_w + gap, panel_h = top + rows * cell_h + 40;
  const int across = std::max(1, std::min(panels_per_row, static_cast<int>(panels.size())));
  const int down =
      static_cast<int>((panels.size() + static_cast<size_t>(across) - 1) / static_cast<size_t>(across));
  double lo = 0.0, hi = 0.0;
  bool any = false;
  for (const HeatmapPanel& p : panels) {
    if (!p.values.empty() && p.values.size() != row_labels.size() * column_labels.size()) {
      throw std::invalid_argument(fmt::format("heat map '{}': {} values for {} x {} cells", p.title,
                                              p.values.size(), row_labels.size(), column_labels.size()));
    }
    for (const double v : p.values) {
      lo = any ? std::min(lo, v) : v;
      hi = any ? std::max(hi, v) : v;
      any = true;
    }
  }
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" "
      "font-size=\"9\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"10\" y=\"18\" font-size=\"13\">{} (colour: {:.3g} white to {:.3g} dark red)</text>\n",
      across * panel_w + 10, down * panel_h + 30, xml_escape(title), lo, hi);
  for (size_t p = 0; p < panels.size(); ++p) {
    const int x0 = 10 + static_cast<int>(p % static_cast<size_t>(across)) * panel_w;
    const int y0 = 20 + static_cast<int>(p / static_cast<size_t>(across)) * panel_h;
    svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\">{}</text>\n", x0, y0 + 16,
                       xml_escape(panels[p].title));
    for (int c = 0; c < cols; ++c) {
      svg += fmt::format("<text transform=\"translate({},{}) rotate(-60)\">{}</text>\n",
                         x0 + left + c * cell_w + cell_w / 2 + 3, y0 + top - 4,
                         xml_escape(column_labels[static_cast<size_t>(c)]));
    }
    for (int r = 0; r < rows; ++r) {
      if (r % 2 == 0 || rows <= 24) {
        svg +=
            fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", x0 + left - 4,
                        y0 + top + r * cell_h + cell_h - 1, xml_escape(row_labels[static_cast<size_t>(r)]));
      }
    }
    if (panels[p].values.empty()) {
      svg += fmt::format("<text x=\"{}\" y=\"{}\">no samples</text>\n", x0 + left + 4, y0 + top + 20);
      continue;
    }
    for (int r = 0; r < rows; ++r) {
      for (int c = 0; c < cols; ++c) {
        const double v = panels[p].values[static_cast<size_t>(r * cols + c)];
        const double share = hi > lo ? (v - lo) / (hi - lo) : 0.0;
        svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"rgb({},{},{})\"/>\n",
                           x0 + left + c * cell_w, y0 + top + r * cell_h, cell_w, cell_h,
                           255 - static_cast<int>(share * 115), 255 - static_cast<int>(share * 235),
                           255 - static_cast<int>(share * 235));
      }
    }
  }
  return svg + "</svg>\n";
}

std::string line_chart_svg(const std::string& title, const std::string& x_label, const std::string& y_label,
                           const std::vector<double>& xs, const std::vector<LineSeries>& series) {
  const int width = 560, height = 340, left = 60, right = 150, top = 34, bottom = 44;
  const int plot_w = width - left - right, plot_h = height - top - bottom;
  double x_lo = xs.empty() ? 0.0 : xs.front(), x_hi = xs.empty() ? 1.0 : xs.back();
  double y_lo = 1e300, y_hi = -1e300;
  for (const LineSeries& s : series) {
    for (const double v : s.values) y_lo = std::min(y_lo, v), y_hi = std::max(y_hi, v);
  }
  if (!(y_hi > y_lo)) y_lo -= 0.5, y_hi += 0.5;
  if (!(x_hi > x_lo)) x_hi = x_lo + 1.0;
  const auto px = [&](double x) { return left + (x - x_lo) / (x_hi - x_lo) * plot_w; };
  const auto py = [&](double y) { return top + (y_hi - y) / (y_hi - y_lo) * plot_h; };
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" "
      "font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"10\" y=\"18\" font-size=\"13\">{}</text>\n"
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n"
      "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n"
      "<text transform=\"translate(14,{}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
      width, height, xml_escape(title), left, top, plot_w, plot_h, left + plot_w / 2, height - 8,
      xml_escape(x_label), top + plot_h / 2, xml_escape(y_label));
  for (int i = 0; i <= 4; ++i) {
    const double y = y_lo + (y_hi - y_lo) * i / 4.0, x = x_lo + (x_hi - x_lo) * i / 4.0;
    svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{:.3g}</text>\n", left - 4, py(y) + 4,
                       y);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{:.3g}</text>\n", px(x),
                       top + plot_h + 14, x);
  }
  for (size_t s = 0; s < series.size(); ++s) {
    std::string points;
    for (size_t i = 0; i < series[s].values.size() && i < xs.size(); ++i) {
      points += fmt::format("{:.1f},{:.1f} ", px(xs[i]), py(series[s].values[i]));
    }
    const char* colour = kColours[s % std::size(kColours)];
    svg += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n", points,
                       colour);
    svg += fmt::format("<text x=\"{}\" y=\"{}\" fill=\"{}\">{}</text>\n", left + plot_w + 8,
                       top + 14 + 16 * static_cast<int>(s), colour, xml_escape(series[s].name));
  }
  return svg + "</svg>\n";
}

}  // namespace s2::experiments
