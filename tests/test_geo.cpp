// Where samples are, and Geo-CBAM (issue #21): coordinates from files and pixel CSV columns, their bad
// input, groups by region name, nearby points joined into one group, leave-one-region-out folds, the
// location encoding, and the Geo-CBAM variants (an untrained one is the paper network; the location
// reaches the logits; a model without coordinates refuses).
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <map>
#include <set>

#include "data/coordinates.h"
#include "data/npy.h"
#include "data/splits.h"
#include "data/victoria_csv.h"
#include "experiments/cli/config.h"
#include "experiments/training/experiment.h"
#include "framework/error.h"
#include "framework/random.h"
#include "models/cbam_crop_net.h"
#include "models/location_encoding.h"
#include "tests/temp_files.h"

using namespace s2;
using s2::testing::write_temp;

namespace {

const std::string kGeo = S2_SHARED_DATA "/wc-geo-multiregion";
const std::string kConfigs = S2_SOURCE_DIR "/experiments/configs";

double metres_between(double lat1, double lon1, double lat2, double lon2) {
  const double r = 3.14159265358979323846 / 180,
               a = std::pow(std::sin((lat2 - lat1) * r / 2), 2) +
                   std::cos(lat1 * r) * std::cos(lat2 * r) * std::pow(std::sin((lon2 - lon1) * r / 2), 2);
  return 2 * 6371008.8 * std::asin(std::sqrt(a));
}

// The partition of samples into groups, as a set of member sets: the same whatever the ids.
std::set<std::set<int64_t>> partition(const std::vector<int64_t>& groups) {
  std::map<int64_t, std::set<int64_t>> members;
  for (size_t i = 0; i < groups.size(); ++i) members[groups[i]].insert(static_cast<int64_t>(i));
  std::set<std::set<int64_t>> out;
  for (auto& [id, m] : members) out.insert(m);
  return out;
}

// The same by brute force: every pair compared, components by repeated relabelling.
std::vector<int64_t> join_by_all_pairs(std::vector<int64_t> groups, const std::vector<double>& lats,
                                       const std::vector<double>& lons, double metres) {
  const size_t n = groups.size();
  std::vector<int64_t> label(n);
  for (size_t i = 0; i < n; ++i) label[i] = static_cast<int64_t>(i);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < n; ++j) {
        const bool linked =
            groups[i] == groups[j] || metres_between(lats[i], lons[i], lats[j], lons[j]) < metres;
        if (linked && label[j] < label[i]) label[i] = label[j], changed = true;
      }
    }
  }
  return label;
}

models::CbamCropNetConfig small_net(models::GeoAttention geo) {
  models::CbamCropNetConfig c;
  c.timesteps = 6, c.bands = 4, c.classes = 3, c.stem_width = 8, c.stage_widths = {8, 16};
  c.geo = geo;
  return c;
}

}  // namespace

TEST_CASE(
    "coordinates come from a lat,lon file (CSV with or without a header, or NPY) or pixel CSV columns") {
  const data::LatLon plain = data::read_coordinates(write_temp("plain.csv", "4.5,33.25\n-12,-70.5\n"));
  CHECK(plain.lats == std::vector<double>{4.5, -12});
  CHECK(plain.lons == std::vector<double>{33.25, -70.5});
  // A header names the columns, in any order, among others.
  const data::LatLon named =
      data::read_coordinates(write_temp("named.csv", "id,Longitude,LAT\n7,33.25,4.5\n8,-70.5,-12\n"));
  CHECK(named.lats == plain.lats);
  CHECK(named.lons == plain.lons);
  const std::string npy = testing::temp_path("coords.npy");
  data::write_npy(npy, {2, 2}, {4.5f, 33.25f, -12.0f, -70.5f});
  const data::LatLon from_npy = data::read_coordinates(npy);
  CHECK(from_npy.lats == plain.lats);
  CHECK(from_npy.lons == plain.lons);

  // The shared points' coords.csv holds meta.csv's lat and lon (rounded to 6 decimals).
  const data::LatLon geo = data::read_coordinates(kGeo + "/coords.csv");
  REQUIRE(geo.lats.size() == 603);
  CHECK(geo.lats[0] == doctest::Approx(4.791027290822026).epsilon(1e-7));
  CHECK(geo.lons[0] == doctest::Approx(33.54223207174935).epsilon(1e-7));

  // A pixel CSV's lat and lon columns are coordinates, not values.
  const auto d = data::read_pixel_csv(
      write_temp("located.csv", "label,id,lat,lon,b1,b2,b3,b4\n0,1,51.0,4.0,1,2,3,4\n1,2,-3.5,120,5,6,7,8\n"),
      {.bands = 2});
  CHECK(d.timesteps == 2);
  CHECK(d.values == std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(d.lats == std::vector<double>{51.0, -3.5});
  CHECK(d.lons == std::vector<double>{4.0, 120});
  // The subsets a split makes carry them.
  const data::PixelDataset second = d.subset({1});
  CHECK(second.lats == std::vector<double>{-3.5});
  CHECK(second.lons == std::vector<double>{120});
}

TEST_CASE("bad coordinates are clear errors that name the file") {
  using data::read_coordinates;
  CHECK_THROWS_WITH_AS(read_coordinates(write_temp("north.csv", "91,10\n")),
                       doctest::Contains("sample 0 is at latitude 91, longitude 10"), Error);
  CHECK_THROWS_WITH_AS(read_coordinates(write_temp("swapped.csv", "lat,lon\n10,20\n190,45\n")),
                       doctest::Contains("swapped.csv': sample 1 is at latitude 190"), Error);
  CHECK_THROWS_WITH_AS(read_coordinates(write_temp("word.csv", "10,20\nten,20\n")),
                       doctest::Contains("word.csv:2: 'ten' is not a number"), Error);
  CHECK_THROWS_WITH_AS(read_coordinates(write_temp("half.csv", "id,lat\n1,20\n")),
                       doctest::Contains("names only a latitude column"), Error);
  CHECK_THROWS_WITH_AS(read_coordinates(write_temp("ragged.csv", "10,20\n10\n")),
                       doctest::Contains("ragged.csv:2: 1 columns, the first line has 2"), Error);
  const std::string flat = testing::temp_path("flat.npy");
  data::write_npy(flat, {4}, {1, 2, 3, 4});
  CHECK_THROWS_WITH_AS(read_coordinates(flat), doctest::Contains("must have shape (N, 2), has (4)"), Error);
  data::PixelDataset d;
  d.timesteps = 1, d.bands = 1, d.values = {1, 2, 3}, d.source = "three.npy";
  CHECK_THROWS_WITH_AS(
      data::attach_coordinates(d, write_temp("two.csv", "1,2\n3,4\n")),
      doctest::Contains(
          ("'" + testing::temp_path("two.csv") + "' has 2 rows for the 3 samples of 'three.npy'").c_str()),
      Error);
  CHECK_THROWS_WITH_AS(
      data::read_pixel_csv(write_temp("lonely.csv", "label,id,lat,b1\n0,1,50,1\n"), {.bands = 1}),
      doctest::Contains("names a latitude column but no longitude column"), Error);
  CHECK_THROWS_WITH_AS(
      data::read_pixel_csv(write_temp("far.csv", "label,id,lat,lon,b1\n0,1,50,200,1\n"), {.bands = 1}),
      doctest::Contains("far.csv': sample 0 is at latitude 50, longitude 200"), Error);
}

TEST_CASE("a raster's coordinates come from its georeferencing: a coords file for one is a config error") {
  CHECK_THROWS_WITH_AS(
      experiments::parse_config("[data]\nformat = \"raster_series\"\ntrain = \"f\"\ntimesteps = 4\n"
                                "train_coords = \"xy.csv\"\n",
                                "r.toml"),
      doctest::Contains("r.toml: [data] train_coords/test_coords are for tables"), Error);
  CHECK_THROWS_WITH_AS(
      experiments::parse_config("[data]\ntrain = \"p.csv\"\n[split]\nkind = \"leave_one_out\"\n", "s.toml"),
      doctest::Contains("or leave_one_group_out)"), Error);
}

TEST_CASE("groups by name: a region per sample gives one group per region, named") {
  const auto d = data::read_npy_dataset(kGeo + "/x.npy", kGeo + "/labels.csv",
                                        {"maize", "sorghum", "grass_fodder", "trees"}, kGeo + "/regions.csv");
  CHECK(d.group_names == std::vector<std::string>{"SSD_EasternEquatoria", "UGA_Karamoja", "KEN-UGA_Busia",
                                                  "FRA_Corsica", "BEL_Flanders"});  // by first appearance
  std::map<std::string, int64_t> count;
  for (const int64_t g : d.groups) ++count[d.group_names[static_cast<size_t>(g)]];
  // The counts of the data's README.
  CHECK(count == std::map<std::string, int64_t>{{"BEL_Flanders", 81},
                                                {"FRA_Corsica", 144},
                                                {"KEN-UGA_Busia", 21},
                                                {"SSD_EasternEquatoria", 86},
                                                {"UGA_Karamoja", 271}});
  // A header line is recognised by the count; a wrong count is an error.
  const std::string x = testing::temp_path("three_x.npy");
  data::write_npy(x, {3, 1, 1}, {1, 2, 3});
  const std::string y = write_temp("three_y.csv", "0\n1\n0\n");
  CHECK(
      data::read_npy_dataset(x, y, {"a", "b"}, write_temp("r.csv", "region\nnorth\nsouth\nnorth\n")).groups ==
      std::vector<int64_t>{0, 1, 0});
  CHECK_THROWS_WITH_AS(data::read_npy_dataset(x, y, {"a", "b"}, write_temp("r2.csv", "north\nsouth\n")),
                       doctest::Contains("has 2 group names for 3 samples"), Error);
}

TEST_CASE("nearby points join one group: the same partition as comparing every pair") {
  // Clusters at the equator, at 60 N and near the pole, points within a few hundred metres, given
  // groups that already join some: the grid search must find exactly the pairs closer than 250 m.
  Generator g(5);
  std::vector<double> lats, lons;
  std::vector<int64_t> groups;
  for (const auto& [lat0, lon0] :
       std::vector<std::pair<double, double>>{{0.0, 30.0}, {60.0, -5.0}, {84.0, 100.0}}) {
    for (int i = 0; i < 60; ++i) {
      lats.push_back(lat0 + (g.uniform() - 0.5) * 0.02);  // about +-1.1 km
      lons.push_back(lon0 + (g.uniform() - 0.5) * 0.02 / std::cos(lat0 * 3.14159265358979323846 / 180));
      groups.push_back(static_cast<int64_t>(lats.size()) % 50);  // samples 0 and 50 share a group, ...
    }
  }
  const auto joined = data::join_nearby_groups(groups, lats, lons, 250.0);
  CHECK(partition(joined) == partition(join_by_all_pairs(groups, lats, lons, 250.0)));
  CHECK(partition(joined).size() < partition(groups).size());  // something was joined
  // The joined group takes the smallest member id.
  const auto alone = data::join_nearby_groups({7, 3}, {10.0, 10.0}, {20.0, 20.001}, 250.0);  // 110 m apart
  CHECK(alone == std::vector<int64_t>{3, 3});
  CHECK(data::join_nearby_groups({7, 3}, {10.0, 10.0}, {20.0, 20.01}, 250.0) == std::vector<int64_t>{7, 3});
}

TEST_CASE("leave one region out: one fold per region, each tested only on its region") {
  const auto config = experiments::load_config(kConfigs + "/geo_multiregion_regions_out.toml");
  const auto data = experiments::load_data(config);
  CHECK(data.train.has_coordinates());
  const auto folds = experiments::make_folds(config, data, 1);
  REQUIRE(folds.size() == 5);
  std::map<std::string, int64_t> tested;
  for (const auto& f : folds) {
    tested[f.name] = f.test.size();
    CHECK(f.train.size() + f.test.size() == 603);
    CHECK(f.test.lats.size() == static_cast<size_t>(f.test.size()));
    const std::set<int64_t> test_groups(f.test.groups.begin(), f.test.groups.end());
    CHECK(test_groups.size() == 1);
    for (const int64_t g : f.train.groups) CHECK(test_groups.count(g) == 0);
  }
  CHECK(tested == std::map<std::string, int64_t>{{"out-BEL_Flanders", 81},
                                                 {"out-FRA_Corsica", 144},
                                                 {"out-KEN-UGA_Busia", 21},
                                                 {"out-SSD_EasternEquatoria", 86},
                                                 {"out-UGA_Karamoja", 271}});
  // Within regions: points closer than 250 m stay on one side.
  const auto within = experiments::load_config(kConfigs + "/geo_multiregion_within.toml");
  for (const auto& f : experiments::make_folds(within, experiments::load_data(within), 1)) {
    for (int64_t i = 0; i < f.test.size(); i += 7) {
      for (int64_t j = 0; j < f.train.size(); ++j) {
        const auto u = static_cast<size_t>(i), v = static_cast<size_t>(j);
        CHECK(metres_between(f.test.lats[u], f.test.lons[u], f.train.lats[v], f.train.lons[v]) >= 250.0);
      }
    }
  }
}

TEST_CASE("the location encoding: sines and cosines at geometric wavelengths, as stated in float64") {
  const models::LocationEncoding e{.scales = 3, .min_wavelength_km = 400};
  const Tensor where = Tensor::from_vector({2, 2}, {51.05f, 3.72f, -33.9f, 151.2f});
  const Tensor f = models::encode_locations(where, e);
  REQUIRE(f.shape() == Shape{2, 12});
  const double circumference = 40007.863, rad = 3.14159265358979323846 / 180;
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t s = 0; s < 3; ++s) {
      // Wavelengths 40007.863, 4000.8 and 400 km: 1, 10.002 and 100.02 cycles around the Earth.
      const double cycles = std::pow(circumference / 400, static_cast<double>(s) / 2);
      const double lat = where.data()[2 * i] * rad, lon = where.data()[2 * i + 1] * rad;
      const double expected[4] = {std::sin(cycles * lat), std::cos(cycles * lat), std::sin(cycles * lon),
                                  std::cos(cycles * lon)};
      for (int64_t k = 0; k < 4; ++k) {
        // One rounding to float32 (half an ulp), plus the float64 error of the argument (cycles x angle,
        // a few ulps of float64) times a derivative of at most 1.
        CHECK(std::abs(f.data()[i * 12 + 4 * s + k] - expected[k]) <= std::ldexp(1.0, -24) + 1e-12);
      }
    }
  }
  CHECK_THROWS_WITH_AS(models::encode_locations(Tensor::zeros({2, 3}), e),
                       doctest::Contains("expected (N, 2) latitude and longitude"), Error);
}

TEST_CASE("Geo-CBAM: untrained it is the paper network; the location reaches the logits once trained") {
  using models::GeoAttention;
  Generator g(9);
  Tensor x = Tensor::empty({3, 1, 6, 4});
  for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = g.normal();
  const Tensor here = Tensor::from_vector({3, 2}, {51.0f, 4.0f, 3.0f, 33.5f, 42.0f, 9.0f});
  const Tensor there = Tensor::from_vector({3, 2}, {-10.0f, 120.0f, 60.0f, -100.0f, 0.0f, 0.0f});
  manual_seed(3);
  models::CbamCropNet paper(small_net(GeoAttention::None));
  paper.eval();
  const Tensor reference = paper.forward(x);
  const int64_t e = models::LocationEncoding{}.features();
  // Extra parameters: E x C/8 per stage (channel), 2 x E per stage (spatial), E x classes (head).
  const std::map<GeoAttention, int64_t> extra{{GeoAttention::Channel, e * (1 + 2)},
                                              {GeoAttention::Spatial, 2 * e * 2},
                                              {GeoAttention::Both, e * (1 + 2) + 2 * e * 2},
                                              {GeoAttention::Head, e * 3}};
  for (const auto& [geo, added] : extra) {
    const std::string variant = models::geo_attention_name(geo);
    CAPTURE(variant);
    manual_seed(3);
    models::CbamCropNet net(small_net(geo));
    net.eval();
    CHECK(net.uses_location());
    CHECK_FALSE(net.has_cuda_kernels());
    CHECK(net.num_parameters() == paper.num_parameters() + added);
    // Geo layers start at zero and draw nothing: the same logits, bit for bit, wherever the pixel is.
    const Tensor at_here = net.forward_at(x, here);
    for (int64_t i = 0; i < reference.numel(); ++i) CHECK(at_here.data()[i] == reference.data()[i]);
    // With geo weights, the place matters.
    for (auto& [name, p] : net.named_parameters()) {
      if (name.find("geo") == std::string::npos) continue;
      for (int64_t i = 0; i < p.numel(); ++i) p.data()[i] = 0.5f * g.normal();
    }
    const Tensor moved_here = net.forward_at(x, here), moved_there = net.forward_at(x, there);
    double change = 0;
    for (int64_t i = 0; i < reference.numel(); ++i)
      change = std::max(change, static_cast<double>(std::abs(moved_here.data()[i] - moved_there.data()[i])));
    CHECK(change > 0);  // a geo layer that is not wired in leaves the logits exactly as they were
    CHECK_THROWS_WITH_AS(net.forward(x), doctest::Contains("needs where each sample is"), Error);
  }
  models::CbamCropNetConfig mismatch = small_net(GeoAttention::Spatial);
  mismatch.attention = models::Attention::ChannelOnly;
  CHECK_THROWS_WITH_AS(
      models::CbamCropNet{mismatch},
      doctest::Contains("geo 'spatial' needs the attention it enters, and attention is 'channel'"), Error);
}

TEST_CASE("a Geo-CBAM variant on data without coordinates refuses before training, naming the data") {
  auto config = experiments::load_config(kConfigs + "/demo_victoria.toml");
  const auto data = experiments::load_data(config);
  CHECK_FALSE(data.train.has_coordinates());
  experiments::require_model_inputs(config, data, "paper");  // the paper network needs none
  config.model.cbam.geo = models::GeoAttention::Both;
  CHECK_THROWS_WITH_AS(
      experiments::require_model_inputs(config, data, "geo_both"),
      doctest::Contains(("'geo_both' is Geo-CBAM (geo = 'both') and needs where each sample is, "
                         "but '" +
                         data.train.source + "' has no coordinates")
                            .c_str()),
      Error);
  CHECK_THROWS_WITH_AS(experiments::run_experiment(config, data, 1), doctest::Contains("has no coordinates"),
                       Error);
  // TempCBAM with the location's entries likewise; without them it needs none.
  config.model.kind = "tempcbam";
  CHECK_THROWS_WITH_AS(experiments::require_model_inputs(config, data, "tempcbam_geo"),
                       doctest::Contains("'tempcbam_geo' is Geo-CBAM (geo = 'both') and needs where"), Error);
  config.model.cbam.geo = models::GeoAttention::None;
  experiments::require_model_inputs(config, data, "tempcbam");
}
