// Tensors on Device::CUDA, with the CUDA kernels running through the CPU emulator: copies, the
// device caching allocator, clear errors for device mix-ups, and whole training steps of the paper
// network on the device against the same steps on the CPU.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "experiments/kernel_checks/kernel_cases.h"
#include "experiments/training/batch_gradient.h"
#include "experiments/training/experiment.h"
#include "framework/allocator.h"
#include "framework/autograd.h"
#include "framework/device.h"
#include "framework/error.h"
#include "framework/ops.h"
#include "framework/optim.h"
#include "framework/random.h"
#include "kernels/emu/executor.h"
#include "kernels/rounding_bound.h"
#include "models/cbam_crop_net.h"
#include "models/factory.h"

using namespace s2;

namespace {

// The backend under test: the CPU emulator by default; S2_TEST_DEVICE_BACKEND=gpu runs the same
// checks on a real GPU (ctest registers those runs when it finds one at configure time).
struct EmulatedDevice {
  EmulatedDevice() {
    const char* env = std::getenv("S2_TEST_DEVICE_BACKEND");
    const std::string backend = env == nullptr ? "emulator" : env;
    REQUIRE_MESSAGE((backend == "emulator" || backend == "gpu"),
                    "S2_TEST_DEVICE_BACKEND must be emulator or gpu, got '" << backend << "'");
    select_device_backend(backend == "gpu" ? DeviceBackend::Gpu : DeviceBackend::Emulator);
  }
};

Tensor random_tensor(const Shape& shape, uint64_t seed) {
  Generator g(seed);
  Tensor t = Tensor::empty(shape);
  for (int64_t i = 0; i < t.numel(); ++i) {
    t.data()[i] = g.normal();
  }
  return t;
}

// Device against CPU within the bound of two float32 evaluations of a chain of that length, taking the
// largest CPU value as the size of every term: valid when the network does not amplify rounding
// errors through cancellation (random weights and inputs of mixed sign, as here, sum without
// systematic cancellation).
bool within_chain_bound(const Tensor& got, const Tensor& want, int64_t chain) {
  const ErrorStats e = compare_outputs(got.to_vector(), want.to_vector());
  const double bound = float32_difference_bound(chain, e.max_ref);
  INFO("max |error| " << e.max_abs << " against the bound " << bound << " (chain " << chain << ")");
  return e.max_abs <= bound;
}

// One Adam step of the same network on the CPU and on the device; compares loss, logits, every
// gradient and every updated parameter. With shards > 1 the step is the trainer's data-parallel one
// (experiments::batch_gradient: a forward and backward per shard, gradients summed, running statistics
// averaged), whose logits are not compared.
void check_training_step(const models::CbamCropNetConfig& config, int64_t batch, int64_t shards = 1) {
  manual_seed(7);
  models::CbamCropNet cpu_net(config);
  manual_seed(7);
  models::CbamCropNet dev_net(config);
  dev_net.to(Device::CUDA);
  optim::Adam cpu_opt(cpu_net.parameters(), {}), dev_opt(dev_net.parameters(), {});

  const Tensor x = random_tensor({batch, 1, config.timesteps, config.bands}, 3);
  std::vector<int32_t> labels;
  for (int64_t i = 0; i < batch; ++i) {
    labels.push_back(static_cast<int32_t>(i % config.classes));
  }
  const int64_t chain = models::rounding_chain(config, batch, true);
  const int64_t loss_chain = chain + batch * (config.classes + 24);
  if (shards == 1) {
    const Tensor cpu_logits = cpu_net.forward(x), dev_logits = dev_net.forward(x.to(Device::CUDA));
    REQUIRE(dev_logits.device() == Device::CUDA);
    CHECK(within_chain_bound(dev_logits, cpu_logits, chain));
    const Tensor cpu_loss = softmax_cross_entropy(cpu_logits, labels);
    const Tensor dev_loss = softmax_cross_entropy(dev_logits, labels);
    CHECK(within_chain_bound(dev_loss, cpu_loss, loss_chain));
    cpu_loss.backward();
    dev_loss.backward();
  } else {
    const data::Batch whole{x, labels, Tensor()};
    const auto cpu_step = experiments::batch_gradient(cpu_net, whole, {}, "batch_mean", shards);
    const auto dev_step = experiments::batch_gradient(dev_net, whole, {}, "batch_mean", shards);
    CHECK(within_chain_bound(Tensor::scalar(static_cast<float>(dev_step.loss)),
                             Tensor::scalar(static_cast<float>(cpu_step.loss)), loss_chain + shards));
  }

  const auto cpu_params = cpu_net.named_parameters(), dev_params = dev_net.named_parameters();
  REQUIRE(cpu_params.size() == dev_params.size());
  double grad_scale = 0.0;
  for (const auto& [name, p] : cpu_params) {
    grad_scale = std::max(grad_scale, compare_outputs(p.grad().to_vector(), p.grad().to_vector()).max_ref);
  }
  std::vector<bool> meaningful(cpu_params.size());
  for (size_t i = 0; i < cpu_params.size(); ++i) {
    CAPTURE(cpu_params[i].first);
    REQUIRE(dev_params[i].second.grad().defined());
    CHECK(dev_params[i].second.grad().device() == Device::CUDA);
    // Gradients run the forward chain, back again, and sum over the batch's pixels; their size is the
    // largest gradient of the network (a conv bias before a BN has an analytically zero gradient, so
    // its own scale is rounding noise).
    const ErrorStats e =
        compare_outputs(dev_params[i].second.grad().to_vector(), cpu_params[i].second.grad().to_vector());
    const int64_t backward_chain = 2 * chain + batch * config.timesteps * config.bands;
    CHECK(e.max_abs <= float32_difference_bound(backward_chain, grad_scale));
    meaningful[i] = e.max_ref > 1e-4 * grad_scale;
  }
  cpu_opt.step();
  dev_opt.step();
  // Adam's first step moves every weight by about lr * sign(gradient), so a weight whose gradient is
  // at rounding-noise level may step the other way: no weight may differ by more than that, and such
  // weights must be rare.
  const float lr = optim::AdamOptions{}.lr;
  for (size_t i = 0; i < cpu_params.size(); ++i) {
    CAPTURE(cpu_params[i].first);
    const auto got = dev_params[i].second.to_vector(), want = cpu_params[i].second.to_vector();
    size_t flipped = 0;
    float max_diff = 0.0f;
    for (size_t j = 0; j < want.size(); ++j) {
      const float diff = std::abs(got[j] - want[j]);
      max_diff = std::max(max_diff, diff);
      flipped += diff > 0.5f * lr ? 1 : 0;
    }
    CHECK(max_diff <= 2.0f * lr * 1.001f);
    if (meaningful[i]) {
      CHECK(static_cast<double>(flipped) <= 0.01 * static_cast<double>(want.size()));
    }
  }
  const auto cpu_buffers = cpu_net.named_buffers(), dev_buffers = dev_net.named_buffers();
  for (size_t i = 0; i < cpu_buffers.size(); ++i) {
    CAPTURE(cpu_buffers[i].first);
    CHECK(within_chain_bound(dev_buffers[i].second, cpu_buffers[i].second, chain));
  }
  // Evaluation mode on the device: inference BN with the running statistics. Both nets first get the
  // CPU's weights and statistics, since Adam's step may differ at rounding-noise gradients (above).
  for (size_t i = 0; i < cpu_params.size(); ++i) Tensor(dev_params[i].second).copy_from(cpu_params[i].second);
  for (size_t i = 0; i < cpu_buffers.size(); ++i)
    Tensor(dev_buffers[i].second).copy_from(cpu_buffers[i].second);
  cpu_net.eval();
  dev_net.eval();
  NoGradGuard no_grad;
  CHECK(within_chain_bound(dev_net.forward(x.to(Device::CUDA)), cpu_net.forward(x),
                           models::rounding_chain(config, batch, false)));
}

// A small CBAM network: one stage of 8 filters (or `widths`), for the device comparisons.
models::CbamCropNetConfig small_config(int64_t timesteps, int64_t bands, int64_t classes,
                                       std::vector<int64_t> widths = {8}) {
  models::CbamCropNetConfig config;
  config.timesteps = timesteps;
  config.bands = bands;
  config.classes = classes;
  config.stem_width = 8;
  config.stage_widths = std::move(widths);
  return config;
}

}  // namespace

TEST_CASE("scale on the device: the CPU's bits (one rounding per element), and its gradient") {
  EmulatedDevice device;
  const Tensor host = random_tensor({3, 5, 7}, 11);
  Tensor on_device = host.to(Device::CUDA);
  on_device.set_requires_grad(true);
  const Tensor y = scale(on_device, -0.37f);
  REQUIRE(y.device() == Device::CUDA);
  CHECK(y.to_vector() == scale(host, -0.37f).to_vector());
  const Tensor dy = random_tensor(host.shape(), 12);
  y.backward(dy.to(Device::CUDA));
  REQUIRE(on_device.grad().device() == Device::CUDA);
  CHECK(on_device.grad().to_vector() == scale(dy, -0.37f).to_vector());
}

TEST_CASE("tensors move to the device and back, through the device caching allocator") {
  EmulatedDevice device;
  const Tensor host = Tensor::from_vector({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor d = host.to(Device::CUDA);
  CHECK(d.device() == Device::CUDA);
  CHECK(d.to_vector() == host.to_vector());
  CHECK(d.reshape({6}).to_vector() == host.to_vector());
  Tensor c = d.clone();
  c.fill_(2.5f);
  CHECK(c.to(Device::CPU).to_vector() == std::vector<float>(6, 2.5f));
  CHECK(d.to_vector() == host.to_vector());  // the clone did not alias
  CHECK(Tensor::full({}, 4.0f, Device::CUDA).item() == 4.0f);
  Tensor moved = host.clone();
  moved.move_to_(Device::CUDA);
  CHECK(moved.device() == Device::CUDA);
  CHECK(moved.to_vector() == host.to_vector());

  // A freed block is reused by the next tensor of the same size, without a new device allocation.
  { Tensor warm = Tensor::empty({1000}, Device::CUDA); }
  const auto before = CachingAllocator::device().stats().system_allocs;
  { Tensor again = Tensor::empty({1000}, Device::CUDA); }
  CHECK(CachingAllocator::device().stats().system_allocs == before);
}

TEST_CASE("device mix-ups and ops without a CUDA kernel give clear errors") {
  EmulatedDevice device;
  const Tensor x = Tensor::ones({1, 2, 4, 4}).to(Device::CUDA);
  const Tensor w_cpu = Tensor::ones({3, 2, 3, 3});
  CHECK_THROWS_WITH(conv2d(x, w_cpu, Tensor()), doctest::Contains("conv2d: inputs are on different devices"));
  CHECK_THROWS_WITH(
      mul(x, x),
      doctest::Contains("mul: input is on cuda, but mul has no CUDA kernel: it runs on the CPU only"));
  CHECK_THROWS_WITH(relu(x), doctest::Contains("relu: input is on cuda"));
  CHECK_THROWS_WITH(global_max_pool2d(x), doctest::Contains("is on cuda"));
  CHECK_THROWS_WITH(set_device_kernel_versions("conv2d=x"),
                    doctest::Contains("not a positive version number"));
  CHECK_THROWS_WITH(set_device_kernel_versions("lstm=1"), doctest::Contains("unknown op 'lstm'"));
  CHECK_THROWS_WITH(select_device("tpu"), doctest::Contains("--device must be auto, cpu, cuda or emulator"));
  // A map past the fused spatial-attention kernel's shared memory (2048 pixels) is a named error; the
  // default version keeps no map in shared memory and takes it.
  const Tensor big = Tensor::ones({1, 1, 41, 50}).to(Device::CUDA);
  const Tensor w7 = Tensor::ones({1, 2, 7, 7}).to(Device::CUDA);
  CHECK(spatial_attention(big, w7).to_vector().size() == 2050);
  const DeviceKernelVersions saved = device_kernel_versions();
  set_device_kernel_versions("spatial_attention=2");
  CHECK_THROWS_WITH_AS(
      spatial_attention(big, w7),
      doctest::Contains("up to 2048 pixels, got kernel 7 and 2050 pixels (choose another kernel "
                        "version with --kernels, or run on the CPU)"),
      s2::Error);
  device_kernel_versions() = saved;
}

TEST_CASE("a training step of a small CBAM network on the device matches the CPU") {
  EmulatedDevice device;
  check_training_step(small_config(12, 5, 3, {8, 16}), 3);
}

TEST_CASE("kernel versions chosen at run time give the same training step") {
  EmulatedDevice device;
  const DeviceKernelVersions saved = device_kernel_versions();
  // The naive versions, and the fused attention versions that were the defaults before version 3.
  for (const char* versions : {"conv2d=1,channel_attention=1,spatial_attention=1,bn_epilogue=1",
                               "channel_attention=2,spatial_attention=2"}) {
    CAPTURE(versions);
    set_device_kernel_versions(versions);
    check_training_step(small_config(9, 4, 2), 2);
    device_kernel_versions() = saved;
  }
}

TEST_CASE("data-parallel shards on the device: the shards' losses, gradients and statistics as the CPU's") {
  EmulatedDevice device;
  check_training_step(small_config(9, 4, 3), 6, 2);
}

TEST_CASE("paper: a training step of the paper network on the device matches the CPU") {
  EmulatedDevice device;
  check_training_step({}, 2);
}

TEST_CASE("gradient clipping scales device gradients as it scales CPU ones") {
  EmulatedDevice device;
  Tensor cpu_w = Tensor::from_vector({2, 2}, {3, 0, 0, 4});
  cpu_w.set_requires_grad(true);
  Tensor dev_w = cpu_w.detach().to(Device::CUDA);
  dev_w.set_requires_grad(true);
  cpu_w.set_grad(Tensor::from_vector({2, 2}, {3, 0, 0, 4}));
  dev_w.set_grad(Tensor::from_vector({2, 2}, {3, 0, 0, 4}).to(Device::CUDA));
  CHECK(optim::clip_grad_norm({cpu_w}, 1.0f) == doctest::Approx(5.0f));
  CHECK(optim::clip_grad_norm({dev_w}, 1.0f) == doctest::Approx(5.0f));
  CHECK(dev_w.grad().device() == Device::CUDA);
  CHECK(dev_w.grad().to_vector() == cpu_w.grad().to_vector());
  CHECK(cpu_w.grad().to_vector()[3] == doctest::Approx(0.8f).epsilon(1e-5));
}

TEST_CASE("a model without CUDA kernels: an explicit device is an error naming it, auto keeps the CPU") {
  REQUIRE(select_device("emulator") == Device::CUDA);
  models::ModelConfig tempcnn;
  tempcnn.kind = "tempcnn";
  const auto model = models::make_model(tempcnn, 12, 4, 3);
  CHECK_FALSE(model->has_cuda_kernels());
  CHECK_THROWS_WITH(experiments::device_for(*model, Device::CUDA, "tempcnn"),
                    doctest::Contains("model 'tempcnn' has no CUDA kernels"));
  const auto cbam = models::make_model({}, 12, 4, 3);
  CHECK(experiments::device_for(*cbam, Device::CUDA, "cbam") == Device::CUDA);
  // "auto" only picks the device where a GPU is present; without one it is the CPU in any case.
  CHECK(select_device("auto") == (gpu_present() ? Device::CUDA : Device::CPU));
  CHECK(device_chosen_automatically());
  CHECK(experiments::device_for(*model, Device::CUDA, "tempcnn") == Device::CPU);
}

TEST_CASE("every device allocation of a training step goes through the device caching allocator") {
  // The emulator counts its live allocations; with the cache emptied first, each must be a block the
  // caching allocator holds (in use or cached), including the attention arg-max and label buffers that
  // live from the forward to the backward.
  select_device_backend(DeviceBackend::Emulator);
  CachingAllocator::device().empty_cache();
  const size_t live_before = emu::live_allocations();
  const AllocatorStats before = CachingAllocator::device().stats();
  models::CbamCropNetConfig config;
  config.timesteps = 6, config.bands = 3, config.classes = 2, config.stem_width = 4,
  config.stage_widths = {8};
  config.reduction = 4;
  manual_seed(1);
  models::CbamCropNet net(config);
  net.to(Device::CUDA);
  const Tensor x = random_tensor({2, 1, 6, 3}, 4).to(Device::CUDA);
  const Tensor loss = softmax_cross_entropy(net.forward(x), {0, 1});
  const auto held = [&] {
    const AllocatorStats s = CachingAllocator::device().stats();
    return static_cast<size_t>((s.system_allocs - before.system_allocs) -
                               (s.system_frees - before.system_frees));
  };
  CHECK(emu::live_allocations() - live_before == held());  // mid-step: the forward's buffers are alive
  loss.backward();
  CHECK(emu::live_allocations() - live_before == held());
}
