#pragma once
// A trained model's weights as a safetensors file and back. The file also carries what a user of the
// weights needs to feed the model (its config, dates, bands and classes, the normalisation statistics,
// the batch-norm epsilon) in its metadata, so an exported model comes back as a whole checkpoint. The
// paper network's tensors take the names of ../shared/bench/torch_cbam_ref.py's modules, so PyTorch
// loads them with load_state_dict.
#include <string>

namespace s2::experiments {

enum class WeightNames { Auto, S2cbam, Torch };  // Auto: Torch where every tensor has a PyTorch name

struct ExportSummary {
  WeightNames names = WeightNames::S2cbam;
  size_t tensors = 0;
  int64_t values = 0;
};

// Errors name the checkpoint: WeightNames::Torch for a model the PyTorch statement does not have.
ExportSummary export_safetensors(const std::string& checkpoint_path, const std::string& out,
                                 WeightNames names);

// Writes a checkpoint from a safetensors file. Its config, metadata and normalisation come from the
// file's s2cbam metadata, or, for weights from elsewhere, from the checkpoint `like` (same model). Tensors
// match by s2cbam or PyTorch name; a missing tensor, a shape that differs or a tensor the model lacks is an
// error naming both. The checkpoint's metadata records imported_from.
void import_safetensors(const std::string& path, const std::string& like, const std::string& out);

}  // namespace s2::experiments
