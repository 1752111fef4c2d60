#include "experiments/explain/explain_report.h"

#include <fmt/format.h>

#include <filesystem>

#include "experiments/explain/axes.h"
#include "experiments/report/report.h"
#include "experiments/report/svg.h"
#include "framework/atomic_file.h"
#include "framework/error.h"

namespace s2::experiments {

namespace {

std::string json_numbers(const std::vector<double>& v) {
  return v.empty() ? "null" : fmt::format("[{:.6g}]", fmt::join(v, ", "));
}

std::string json_strings(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i > 0 ? ", " : "") + json_string(v[i]);
  return out + "]";
}

std::string json_rows(const std::vector<std::vector<double>>& rows) {
  std::string out = "[";
  for (size_t i = 0; i < rows.size(); ++i) out += (i > 0 ? ",\n      " : "") + json_numbers(rows[i]);
  return out + "]";
}

std::string explanation_json(const Explanation& e) {
  std::string j = "{\n";
  j += fmt::format("  \"model\": {},\n  \"data\": {},\n", json_string(e.model_name),
                   json_string(e.data_source));
  j += fmt::format("  \"classes\": {},\n  \"dates\": {},\n  \"bands\": {},\n", json_strings(e.class_names),
                   json_strings(e.date_labels), json_strings(e.band_names));
  j += "  \"attention\": ";
  if (!e.attention) {
    j += "null,\n";
  } else {
    j += "[\n";
    for (size_t s = 0; s < e.attention->stages.size(); ++s) {
      const StageAttention& st = e.attention->stages[s];
      j += fmt::format("    {{\"stage\": {}, \"channels\": {}, \"classes\": [\n", s + 1, st.channels);
      for (size_t c = 0; c < st.classes.size(); ++c) {
        const ClassAttention& ca = st.classes[c];
        j += fmt::format(
            "      {{\"class\": {}, \"correct\": {}, \"wrong\": {},\n       \"spatial_correct\": {},\n"
            "       \"spatial_wrong\": {},\n       \"channel_correct\": {},\n       \"channel_wrong\": "
            "{}}}{}\n",
            json_string(e.class_names[c]), ca.correct, ca.wrong, json_numbers(ca.spatial_correct),
            json_numbers(ca.spatial_wrong), json_numbers(ca.channel_correct), json_numbers(ca.channel_wrong),
            c + 1 < st.classes.size() ? "," : "");
      }
      j += fmt::format("    ]}}{}\n", s + 1 < e.attention->stages.size() ? "," : "");
    }
    j += "  ],\n";
  }
  const OcclusionImportance& o = e.occlusion;
  j += fmt::format(
      "  \"occlusion\": {{\"date_all\": {},\n    \"band_all\": {},\n    \"date_by_class\": {},\n"
      "    \"band_by_class\": {}}},\n",
      json_numbers(o.date_all), json_numbers(o.band_all), json_rows(o.date_by_class),
      json_rows(o.band_by_class));
  j += "  \"deletion\": {";
  for (size_t i = 0; i < e.deletion.size(); ++i) {
    j += fmt::format("{}\n    {}: {}", i > 0 ? "," : "", json_string(e.deletion[i].ranking),
                     json_numbers(e.deletion[i].accuracy));
  }
  j += "\n  },\n";
  j += fmt::format("  \"rank_correlation\": {{\"all\": {}, \"by_class\": {}}}\n}}\n",
                   e.rank_correlation ? fmt::format("{:.6g}", e.rank_correlation->all) : "null",
                   e.rank_correlation ? json_numbers(e.rank_correlation->by_class) : "null");
  return j;
}

std::string attention_csv(const Explanation& e) {
  std::string csv = "stage,class,samples,count,date,band,attention\n";
  for (size_t s = 0; s < e.attention->stages.size(); ++s) {
    for (size_t c = 0; c < e.attention->stages[s].classes.size(); ++c) {
      const ClassAttention& ca = e.attention->stages[s].classes[c];
      for (const bool correct : {true, false}) {
        const std::vector<double>& v = correct ? ca.spatial_correct : ca.spatial_wrong;
        for (size_t i = 0; i < v.size(); ++i) {
          csv += fmt::format("{},{},{},{},{},{},{:.6g}\n", s + 1, e.class_names[c],
                             correct ? "correct" : "wrong", correct ? ca.correct : ca.wrong,
                             e.date_labels[i / e.band_names.size()], e.band_names[i % e.band_names.size()],
                             v[i]);
        }
      }
    }
  }
  return csv;
}

std::string occlusion_csv(const Explanation& e) {
  std::string csv = "class,kind,what,drop\n";
  const auto rows = [&](const std::string& cls, const std::vector<double>& dates,
                        const std::vector<double>& bands) {
    for (size_t t = 0; t < dates.size(); ++t)
      csv += fmt::format("{},date,{},{:.6g}\n", cls, e.date_labels[t], dates[t]);
    for (size_t b = 0; b < bands.size(); ++b)
      csv += fmt::format("{},band,{},{:.6g}\n", cls, e.band_names[b], bands[b]);
  };
  rows("all", e.occlusion.date_all, e.occlusion.band_all);
  for (size_t c = 0; c < e.class_names.size(); ++c) {
    rows(e.class_names[c], e.occlusion.date_by_class[c],
         e.occlusion.band_by_class.empty() ? std::vector<double>{} : e.occlusion.band_by_class[c]);
  }
  return csv;
}

std::string deletion_csv(const Explanation& e) {
  std::string csv = "ranking,dates_removed,accuracy\n";
  for (const DeletionCurve& d : e.deletion) {
    for (size_t k = 0; k < d.accuracy.size(); ++k)
      csv += fmt::format("{},{},{:.6f}\n", d.ranking, k, d.accuracy[k]);
  }
  return csv;
}

std::string attention_svg(const Explanation& e, size_t s) {
  std::vector<HeatmapPanel> panels;
  for (size_t c = 0; c < e.class_names.size(); ++c) {
    const ClassAttention& ca = e.attention->stages[s].classes[c];
    panels.push_back({fmt::format("{}: correct ({})", e.class_names[c], ca.correct), ca.spatial_correct});
    panels.push_back({fmt::format("{}: misclassified ({})", e.class_names[c], ca.wrong), ca.spatial_wrong});
  }
  return heatmap_panels_svg(
      fmt::format("{}: CBAM stage {} spatial attention, mean per true class (rows: dates, columns: bands)",
                  e.model_name, s + 1),
      e.date_labels, e.band_names, panels, 8);
}

std::string occlusion_svg(const Explanation& e) {
  std::vector<std::string> classes = e.class_names;
  classes.push_back("all");
  HeatmapPanel dates{"by date", {}};
  // Rows: dates (or bands); columns: the classes, then all samples.
  for (size_t t = 0; t < e.date_labels.size(); ++t) {
    for (size_t c = 0; c < e.class_names.size(); ++c) dates.values.push_back(e.occlusion.date_by_class[c][t]);
    dates.values.push_back(e.occlusion.date_all[t]);
  }
  return heatmap_panels_svg(
      e.model_name +
          ": occlusion importance by date (drop of the true class's probability; columns: true class)",
      e.date_labels, classes, {dates}, 1);
}

std::string deletion_svg(const Explanation& e) {
  std::vector<double> xs;
  std::vector<LineSeries> series;
  for (const DeletionCurve& d : e.deletion) {
    series.push_back({d.ranking, d.accuracy});
    if (d.accuracy.size() > xs.size()) {
      xs.clear();
      for (size_t k = 0; k < d.accuracy.size(); ++k) xs.push_back(static_cast<double>(k));
    }
  }
  return line_chart_svg(e.model_name + ": accuracy as each sample's top-ranked dates are interpolated away",
                        "dates removed", "overall accuracy", xs, series);
}

}  // namespace

void write_explanation(const Explanation& e, const std::string& dir) {
  std::filesystem::create_directories(dir);
  const auto file = [&](const std::string& name) { return (std::filesystem::path(dir) / name).string(); };
  write_file_atomic(file("explain.json"), explanation_json(e));
  write_file_atomic(file("occlusion.csv"), occlusion_csv(e));
  write_file_atomic(file("occlusion.svg"), occlusion_svg(e));
  write_file_atomic(file("deletion.csv"), deletion_csv(e));
  write_file_atomic(file("deletion.svg"), deletion_svg(e));
  if (e.attention) write_attention_figures(e, dir);
}

std::optional<Explanation> attention_only(models::Classifier& model, const ExperimentConfig& config,
                                          const std::vector<std::string>& class_names,
                                          const data::PixelDataset& d) {
  auto* net = dynamic_cast<models::CbamCropNet*>(&model);
  if (net == nullptr || net->config().attention == models::Attention::None) return std::nullopt;
  Explanation e;
  e.model_name = config.model.kind;
  e.data_source = d.source;
  e.class_names = class_names;
  e.date_labels = date_labels(config, d.timesteps);
  e.band_names = band_labels(config, d.bands);
  e.attention = summarise_attention(*net, d);
  return e;
}

std::vector<std::string> write_attention_figures(const Explanation& e, const std::string& dir) {
  S2_CHECK(e.attention.has_value(), "{} has no attention to draw", e.model_name);
  std::filesystem::create_directories(dir);
  const auto file = [&](const std::string& name) { return (std::filesystem::path(dir) / name).string(); };
  write_file_atomic(file("attention.csv"), attention_csv(e));
  std::vector<std::string> figures;
  for (size_t s = 0; s < e.attention->stages.size(); ++s) {
    if (!e.attention->stages[s].has_spatial) continue;
    figures.push_back(fmt::format("attention_stage{}.svg", s + 1));
    write_file_atomic(file(figures.back()), attention_svg(e, s));
  }
  return figures;
}

std::string explanation_summary(const Explanation& e) {
  std::string out = fmt::format("== explain: {} on {} ==\n", e.model_name, e.data_source);
  if (!e.attention) {
    out += "This model has no attention: occlusion importance and deletion curves only.\n";
  }
  const auto top = [](const std::vector<double>& v, const std::vector<std::string>& names, size_t n) {
    std::vector<size_t> order(v.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] > v[b]; });
    std::string s;
    for (size_t i = 0; i < std::min(n, order.size()); ++i) {
      s += fmt::format("{}{} ({:+.4f})", i > 0 ? ", " : "", names[order[i]], v[order[i]]);
    }
    return s;
  };
  out += fmt::format("occlusion, dates that matter most: {}\n", top(e.occlusion.date_all, e.date_labels, 5));
  if (!e.occlusion.band_all.empty()) {
    out += fmt::format("occlusion, bands that matter most: {}\n", top(e.occlusion.band_all, e.band_names, 3));
  }
  out += "deletion (accuracy with k dates removed):";
  for (const DeletionCurve& d : e.deletion) {
    out += fmt::format("\n  {:<10}", d.ranking);
    for (size_t k = 0; k < d.accuracy.size(); ++k) out += fmt::format(" {:.3f}", d.accuracy[k]);
  }
  out += "\n";
  if (e.rank_correlation) {
    out += fmt::format("rank correlation of attention and occlusion over dates: {:.3f} (all samples)",
                       e.rank_correlation->all);
    for (size_t c = 0; c < e.rank_correlation->by_class.size(); ++c) {
      out += fmt::format("{}{} {:.3f}", c == 0 ? "; by class: " : ", ", e.class_names[c],
                         e.rank_correlation->by_class[c]);
    }
    out += "\n";
  }
  return out;
}

}  // namespace s2::experiments
