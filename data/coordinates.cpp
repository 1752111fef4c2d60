#include "data/coordinates.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>

#include "data/csv.h"
#include "data/npy.h"
#include "framework/error.h"

namespace s2::data {

CoordinateColumn coordinate_column(std::string_view header) {
  std::string name;
  for (const char ch : header) {
    if (ch != ' ' && ch != '"') name += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  if (name == "lat" || name == "latitude") return CoordinateColumn::Latitude;
  if (name == "lon" || name == "lng" || name == "longitude") return CoordinateColumn::Longitude;
  return CoordinateColumn::None;
}

void check_coordinates(const LatLon& c, const std::string& source) {
  S2_CHECK(c.lats.size() == c.lons.size(), "'{}': {} latitudes for {} longitudes", source, c.lats.size(),
           c.lons.size());
  for (size_t i = 0; i < c.lats.size(); ++i) {
    const double lat = c.lats[i], lon = c.lons[i];
    S2_CHECK(std::isfinite(lat) && std::isfinite(lon) && std::abs(lat) <= 90 && std::abs(lon) <= 180,
             "'{}': sample {} is at latitude {}, longitude {}: WGS84 degrees need latitudes in [-90, 90] and "
             "longitudes in [-180, 180] (swapped columns, or projected coordinates?)",
             source, i, lat, lon);
  }
}

namespace {
double parse_degrees(const std::string& field, const std::string& path, int64_t line) {
  std::string_view f = field;
  while (!f.empty() && (f.front() == ' ' || f.front() == '"')) f.remove_prefix(1);
  while (!f.empty() && (f.back() == ' ' || f.back() == '"')) f.remove_suffix(1);
  double v = 0;
  const auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
  S2_CHECK(ec == std::errc() && end == f.data() + f.size() && !f.empty(), "{}:{}: '{}' is not a number", path,
           line, field);
  return v;
}

LatLon read_csv_coordinates(const std::string& path) {
  LatLon c;
  size_t lat = 0, lon = 1, columns = 0;
  for (const auto& [line_no, line] : read_lines(path, "coordinates file")) {
    const std::vector<std::string> fields = csv_fields(line);
    if (columns == 0) {  // the first line: a header naming the columns, or the first sample
      columns = fields.size();
      S2_CHECK(columns >= 2, "{}:{}: expected lat,lon, found {} column", path, line_no, columns);
      int found = 0;
      for (size_t k = 0; k < fields.size(); ++k) {
        const CoordinateColumn kind = coordinate_column(fields[k]);
        if (kind == CoordinateColumn::Latitude) lat = k, found |= 1;
        if (kind == CoordinateColumn::Longitude) lon = k, found |= 2;
      }
      if (found == 3) continue;
      S2_CHECK(found == 0, "{}:1: the header names only a {} column", path,
               found == 1 ? "latitude" : "longitude");
    }
    S2_CHECK(fields.size() == columns, "{}:{}: {} columns, the first line has {}", path, line_no,
             fields.size(), columns);
    c.lats.push_back(parse_degrees(fields[lat], path, line_no));
    c.lons.push_back(parse_degrees(fields[lon], path, line_no));
  }
  return c;
}
}  // namespace

LatLon read_coordinates(const std::string& path) {
  LatLon c;
  if (path.ends_with(".npy")) {
    const NpyArray a = read_npy(path);
    S2_CHECK(a.shape.size() == 2 && a.shape[1] == 2, "coordinates '{}' must have shape (N, 2), has ({})",
             path, fmt::join(a.shape, ", "));
    for (size_t i = 0; i < a.values.size(); i += 2)
      c.lats.push_back(a.values[i]), c.lons.push_back(a.values[i + 1]);
  } else {
    c = read_csv_coordinates(path);
  }
  check_coordinates(c, path);
  return c;
}

void attach_coordinates(PixelDataset& d, const std::string& path) {
  LatLon c = read_coordinates(path);
  S2_CHECK(static_cast<int64_t>(c.lats.size()) == d.size(),
           "coordinates file '{}' has {} rows for the {} samples of '{}'", path, c.lats.size(), d.size(),
           d.source);
  d.lats = std::move(c.lats);
  d.lons = std::move(c.lons);
}

}  // namespace s2::data
