// sample: a stratified random validation sample of a class map (Olofsson et al. 2014), written as CSV
// or GeoPackage points to label and pass back to evaluate_map --sample.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <numeric>

#include "experiments/cli/cli.h"
#include "experiments/maps/map_sample.h"
#include "framework/error.h"

using namespace s2;

namespace {

// --users-accuracy: one value for every class, or Name=value pairs with `fallback` for the others.
std::vector<double> expected_users(const std::vector<std::string>& items,
                                   const std::vector<std::string>& classes, double fallback) {
  std::vector<double> u(classes.size(), fallback);
  const auto number = [](const std::string& text) {
    double v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    S2_CHECK(ec == std::errc() && end == text.data() + text.size(),
             "option --users-accuracy: '{}' is not a number", text);
    return v;
  };
  for (const std::string& item : items) {
    const size_t eq = item.rfind('=');
    if (eq == std::string::npos) {
      S2_CHECK(items.size() == 1, "option --users-accuracy takes one number or Class=number pairs, got '{}'",
               item);
      u.assign(classes.size(), number(item));
      continue;
    }
    const std::string name = item.substr(0, eq);
    const auto it = std::find(classes.begin(), classes.end(), name);
    S2_CHECK(it != classes.end(), "option --users-accuracy: the map has no class '{}' (its classes: {})",
             name, fmt::join(classes, ", "));
    u[static_cast<size_t>(it - classes.begin())] = number(item.substr(eq + 1));
  }
  return u;
}

}  // namespace

int main(int argc, char** argv) {
  return experiments::run_main([&] {
    experiments::Args args(argc, argv,
                           {"map", "out", "users-accuracy", "target-se", "min-per-stratum", "seed"});
    const std::string map_path = args.require("map"), out = args.require("out");
    const data::ClassMap map = data::read_class_map(map_path);
    const std::vector<double> sizes = experiments::stratum_pixels(map);
    constexpr double kDefaultUsers = 0.85;
    const std::vector<double> users =
        expected_users(args.get_list("users-accuracy", {}), map.class_names, kDefaultUsers);
    const double target_se = args.get_double("target-se", 0.01);
    const experiments::SampleDesign design =
        experiments::design_sample(sizes, users, target_se, args.get_int("min-per-stratum", 50));
    const auto seed = static_cast<uint64_t>(args.get_int("seed", 1));
    const std::vector<experiments::SamplePoint> points = experiments::draw_sample(map, design, seed);
    std::filesystem::create_directories(std::filesystem::absolute(out).parent_path());
    experiments::write_sample(out, points, map);
    const double ha = experiments::pixel_area_ha(map.grid, map_path);
    fmt::print("Olofsson et al. 2014 eq. 13: {} points for a standard error of {} on the overall accuracy\n",
               design.equation_13, target_se);
    fmt::print("{:<28} {:>12} {:>10} {:>9} {:>7}\n", "stratum (map class)", "area (ha)", "weight", "expected",
               "points");
    const double total = std::accumulate(sizes.begin(), sizes.end(), 0.0);
    for (size_t k = 0; k < sizes.size(); ++k) {
      fmt::print("{:<28} {:>12.1f} {:>10.4f} {:>9.2f} {:>7}\n", map.class_names[k], sizes[k] * ha,
                 sizes[k] / total, users[k], design.per_stratum[k]);
    }
    fmt::print(
        "wrote {} points (seed {}) to {}: fill the reference column, then run evaluate_map --map {} --sample "
        "{}\n",
        points.size(), seed, out, map_path, out);
    return 0;
  });
}
