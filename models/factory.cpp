#include "models/factory.h"

#include "framework/error.h"

namespace s2::models {

std::unique_ptr<Classifier> make_model(ModelConfig config, int64_t timesteps, int64_t bands,
                                       int64_t classes) {
  if (config.kind == "cbam" || config.kind == "plain_cnn") {
    CbamCropNetConfig c = config.cbam;
    c.timesteps = timesteps, c.bands = bands, c.classes = classes;
    if (config.kind == "plain_cnn") {
      c.attention = Attention::None;
      c.residual_skip = false;
    }
    return std::make_unique<CbamCropNet>(c);
  }
  if (config.kind == "tempcnn" || config.kind == "tempcbam") {
    TempCnnConfig c = config.tempcnn;
    c.timesteps = timesteps, c.bands = bands, c.classes = classes;
    if (config.kind == "tempcbam") {  // the [model] attention keys, as for the paper network
      const CbamCropNetConfig& a = config.cbam;
      c.attention = a.attention;
      c.reduction = a.reduction, c.attention_kernel = a.spatial_kernel;
      c.geo = a.geo, c.location = a.location;
    }
    return std::make_unique<TempCnn>(c);
  }
  if (config.kind == "rf" || config.kind == "gbdt") {
    TreeEnsembleConfig c = config.trees;
    c.kind = config.kind, c.timesteps = timesteps, c.bands = bands, c.classes = classes;
    return std::make_unique<TreeEnsemble>(c);
  }
  fail("unknown model kind '{}' (expected cbam, plain_cnn, tempcnn, tempcbam, rf or gbdt)", config.kind);
}

}  // namespace s2::models
