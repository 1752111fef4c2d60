#pragma once
// The paper's public Keras model (the notebook convolutional_attention.ipynb) into s2cbam: its weights,
// from a Keras 3 `.keras` (a zip holding model.weights.h5) or a legacy `.h5` (model.save or
// save_weights), mapped layer by layer by the names the notebook's code gives its layers, and written as
// a checkpoint of the paper network with Keras's batch-norm epsilon and momentum.
//
// Conventions: Keras is channels-last, so a conv kernel (kh, kw, in, out) becomes (out, in, kh, kw) and
// a dense kernel (in, out) becomes (out, in); BatchNormalization's gamma, beta, moving mean and variance
// are the batch norm's gamma, beta, running mean and variance; epsilon 1e-3, momentum 0.99 (0.01 in
// s2cbam's convention).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace s2::experiments {

struct KerasArray {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

// Every numeric dataset of the file's weights, by its path with the format's prefix ("layers/" of
// Keras 3, "model_weights/" of legacy files) and TensorFlow's ":0" suffixes removed. Errors name the
// file.
std::map<std::string, KerasArray> read_keras_weights(const std::string& path);

// One s2cbam tensor and where the notebook's model keeps it, in each layout.
struct KerasTensorSource {
  std::string s2cbam;          // "stage2.unit1.conv1.weight"
  std::string keras3, legacy;  // "residual_unit_1/main_layers/conv2d/vars/0",
                               // "residual_unit_1/residual_unit_1/conv2d_5/kernel"
  std::string layer;           // the Keras layer, for errors: "residual_unit_1/main_layers/conv2d"
};
// The notebook model's tensors for `stages` stages of one residual unit and one CBAM block each.
std::vector<KerasTensorSource> notebook_layer_map(int64_t stages = 3);

struct KerasImport {
  std::string keras_path, config_path, out;
  bool fit_normalisation = true;     // from the config's training data; false: none (mean 0, stddev 1)
  std::vector<std::string> classes;  // the outputs' names; empty: the classes of the config's training data
};
// Errors name the file and the Keras layer: a missing layer, a shape that is not the paper network's,
// weights the network does not have, a class count that differs from the config's.
void import_keras(const KerasImport& options);

}  // namespace s2::experiments
