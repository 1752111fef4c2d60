#pragma once
// GDAL plumbing shared by the raster readers and writers of data/.
#include <gdal_priv.h>

#include <memory>
#include <string>

#include "data/raster_series.h"

namespace s2::data {

struct DatasetCloser {
  void operator()(GDALDataset* d) const { GDALClose(d); }
};
using DatasetPtr = std::unique_ptr<GDALDataset, DatasetCloser>;

// Opens a raster read-only; a missing or unreadable file is an error naming it.
DatasetPtr open_raster(const std::string& path);
Grid grid_of(GDALDataset& d);

}  // namespace s2::data
