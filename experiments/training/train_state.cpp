#include "experiments/training/train_state.h"

#include <cpptoml.h>
#include <fmt/format.h>

#include <charconv>
#include <sstream>

#include "experiments/cli/toml_text.h"
#include "framework/checkpoint.h"
#include "framework/error.h"

namespace s2::experiments {

namespace {
// Doubles and 64-bit states travel as strings: TOML integers are signed and floats may be rounded.
std::string exact(double v) {
  return fmt::format("\"{:.17g}\"", v);
}

std::string rng_toml(const std::array<uint64_t, 4>& s) {
  return fmt::format("[\"{:x}\", \"{:x}\", \"{:x}\", \"{:x}\"]", s[0], s[1], s[2], s[3]);
}

std::array<uint64_t, 4> rng_from(const cpptoml::table& t, const char* key, const std::string& path) {
  const auto v = t.get_array_of<std::string>(key);
  S2_CHECK(v && v->size() == 4, "training state '{}': {} is missing", path, key);
  std::array<uint64_t, 4> out{};
  for (size_t i = 0; i < 4; ++i) {
    const auto& s = (*v)[i];
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out[i], 16);
    S2_CHECK(ec == std::errc() && end == s.data() + s.size(), "training state '{}': bad {} entry '{}'", path,
             key, s);
  }
  return out;
}

double parse_exact(const std::string& s, const std::string& path, const char* what) {
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  S2_CHECK(ec == std::errc() && end == s.data() + s.size() && !s.empty(),
           "training state '{}': {} '{}' is not a number", path, what, s);
  return v;
}

double number(const cpptoml::table& t, const char* key, const std::string& path) {
  const auto v = t.get_as<std::string>(key);
  S2_CHECK(static_cast<bool>(v), "training state '{}': {} is missing", path, key);
  return parse_exact(*v, path, key);
}
}  // namespace

void save_train_state(const std::string& path, const models::Classifier& model,
                      const optim::Optimizer& optimizer, const TrainState& s,
                      const std::string& fingerprint) {
  Checkpoint ck;
  ck.step = static_cast<uint64_t>(s.epoch);
  std::string meta = fmt::format("fingerprint = \"{}\"\n", fingerprint);
  meta += fmt::format(
      "epoch = {}\nbest_epoch = {}\nbad_epochs = {}\nstopped_early = {}\nbest_val = {}\n"
      "shuffle_rng = {}\nglobal_rng = {}\nhistory = [",
      s.epoch, s.best_epoch, s.bad_epochs, s.stopped_early, exact(s.best_val), rng_toml(s.shuffle_rng),
      rng_toml(s.global_rng));
  for (size_t i = 0; i < s.history.size(); ++i) {
    const auto& e = s.history[i];
    meta += fmt::format("{}[{}, {}, {}, {}, {}, {}]", i ? ", " : "", exact(e.train_loss),
                        exact(e.train_accuracy), exact(e.val_loss), exact(e.val_accuracy),
                        exact(e.samples_per_second), exact(e.learning_rate));
  }
  ck.metadata = meta + "]\n";
  ck.add("model", model.named_parameters());
  ck.add("model", model.named_buffers());
  ck.add("optim", optimizer.state());
  ck.add("best", s.best_weights);
  save_checkpoint(path, ck);
}

TrainState load_train_state(const std::string& path, models::Classifier& model, optim::Optimizer& optimizer,
                            const std::string& fingerprint) {
  const Checkpoint ck = load_checkpoint(path);
  const auto t = parse_toml_text(ck.metadata, fmt::format("training state '{}'", path));
  const auto written_for = t->get_as<std::string>("fingerprint");
  S2_CHECK(written_for && *written_for == fingerprint,
           "training state '{}' was written by another run (its config, seed or data differ: fingerprint {}, "
           "this run {}); remove it, or train into another --out",
           path, written_for ? *written_for : "missing", fingerprint);
  ck.restore("model", model.named_parameters(), path);
  ck.restore("model", model.named_buffers(), path);
  optimizer.load_state(ck.with_prefix("optim"));
  TrainState s;
  s.epoch = t->get_as<int64_t>("epoch").value_or(-1);
  s.best_epoch = t->get_as<int64_t>("best_epoch").value_or(0);
  s.bad_epochs = t->get_as<int64_t>("bad_epochs").value_or(0);
  s.stopped_early = t->get_as<bool>("stopped_early").value_or(false);
  S2_CHECK(s.epoch >= 0, "training state '{}': epoch is missing", path);
  s.best_val = number(*t, "best_val", path);
  s.shuffle_rng = rng_from(*t, "shuffle_rng", path);
  s.global_rng = rng_from(*t, "global_rng", path);
  const auto history = t->get_array_of<cpptoml::array>("history");
  S2_CHECK(history && static_cast<int64_t>(history->size()) == s.epoch,
           "training state '{}': history does not "
           "match {} epochs",
           path, s.epoch);
  for (size_t i = 0; i < history->size(); ++i) {
    const auto row = (*history)[i]->get_array_of<std::string>();
    S2_CHECK(row && row->size() == 6, "training state '{}': history row {} is malformed", path, i + 1);
    const auto& r = *row;
    const auto at = [&](size_t k) { return parse_exact(r[k], path, "history value"); };
    s.history.push_back({static_cast<int64_t>(i + 1), at(0), at(1), at(2), at(3), at(4), at(5)});
  }
  s.best_weights = ck.with_prefix("best");
  return s;
}

}  // namespace s2::experiments
