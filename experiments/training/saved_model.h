#pragma once
// A trained model back from its checkpoint: the network, the normalisation statistics of its
// training split, and what data it expects (dates, bands, class names).
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "experiments/cli/config.h"
#include "experiments/training/experiment.h"
#include "framework/checkpoint.h"
#include "models/classifier.h"

namespace s2::experiments {

struct SavedModel {
  ExperimentConfig config;  // as trained; data paths resolve against `config_anchor`
  std::vector<std::string> class_names;
  int64_t timesteps = 0, bands = 0;
  std::unique_ptr<models::Classifier> model;
  data::BandNormaliser normaliser;
  std::string
      origin;  // where an imported model came from (its metadata's imported_from); empty if trained here
};

// `config_anchor` is the config file the run was started from (for relative data paths); empty keeps
// the checkpoint's folder.
SavedModel load_saved_model(const std::string& checkpoint_path, const std::string& config_anchor = "");
// The same from a checkpoint in memory (`path` names it in errors); without `restore_weights` the model
// keeps its initial weights, for a caller that fills them from elsewhere.
SavedModel saved_model_of(const Checkpoint& checkpoint, const std::string& path,
                          const std::string& config_anchor, bool restore_weights);

// Checks that `d` has the dates, bands and classes the model was trained on, naming both sides.
void check_compatible(const SavedModel& m, const data::PixelDataset& d);

// Data named on the command line (--data, --labels, --groups, --coords), which need not be in the model's
// training format: paths are relative to the working directory, and the format follows what --data is (a .npy
// file, a .csv pixel table, or a folder of a raster series); anything else keeps the config's format.
DataFiles command_line_data(SavedModel& m, const std::string& values, const std::string& labels,
                            const std::string& groups, const std::string& coords);

// Labelled or unlabelled pixels from `files`, read and preprocessed as the model was trained (its
// config's format and resampling, its class names, its training normalisation), after the
// compatibility check: what evaluate and predict feed the model.
data::PixelDataset load_for_model(const SavedModel& m, const DataFiles& files);

}  // namespace s2::experiments
