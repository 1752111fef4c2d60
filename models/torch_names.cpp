#include "models/torch_names.h"

#include <map>

namespace s2::models {

namespace {

std::vector<std::string> split(const std::string& name) {
  std::vector<std::string> parts(1);
  for (const char c : name) {
    if (c == '.')
      parts.emplace_back();
    else
      parts.back() += c;
  }
  return parts;
}

}  // namespace

std::optional<std::string> torch_reference_name(const std::string& name) {
  const std::vector<std::string> p = split(name);
  // Batch norm's scale and shift are PyTorch's weight and bias; buffers keep their names.
  static const std::map<std::string, std::string> leaves{{"gamma", "weight"},
                                                         {"beta", "bias"},
                                                         {"weight", "weight"},
                                                         {"bias", "bias"},
                                                         {"running_mean", "running_mean"},
                                                         {"running_var", "running_var"}};
  if (!leaves.count(p.back())) return std::nullopt;
  const std::string leaf = leaves.at(p.back());
  if (p.size() == 2 && p[0] == "stem_conv") return "stem.0." + leaf;
  if (p.size() == 2 && p[0] == "stem_bn") return "stem.1." + leaf;
  if (p.size() == 2 && p[0] == "head") return "head." + leaf;
  if (p.size() < 4 || (p[0] != "stage1" && p[0] != "stage2" && p[0] != "stage3")) return std::nullopt;
  const std::string stage = p[0].substr(5);
  static const std::map<std::string, std::string> unit{
      {"conv1", "c1"}, {"bn1", "b1"}, {"conv2", "c2"}, {"bn2", "b2"}, {"skip", "skip"}};
  if (p.size() == 4 && p[1] == "unit1" && unit.count(p[2]))
    return "r" + stage + "." + unit.at(p[2]) + "." + leaf;
  static const std::map<std::string, std::string> attention{
      {"fc1", "fc1"}, {"fc2", "fc2"}, {"conv", "sconv"}};
  if (p.size() == 5 && p[1] == "cbam" && attention.count(p[3]))
    return "a" + stage + "." + attention.at(p[3]) + "." + leaf;
  return std::nullopt;
}

}  // namespace s2::models
