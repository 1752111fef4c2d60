#pragma once
// Cooperative fibers for the CUDA emulator: each emulated GPU thread runs on its own small stack and
// hands control back to the block scheduler at barriers. x86-64 uses a hand-written switch (no
// syscall per switch, unlike swapcontext); other targets fall back to ucontext.
#include <cstddef>
#include <functional>
#include <memory>

namespace s2::emu {

class Fiber {
 public:
  explicit Fiber(size_t stack_bytes);
  ~Fiber();
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;

  // Prepares the fiber to run `body` from the start on its next resume(); any earlier run is discarded.
  void reset(std::function<void()> body);
  // Runs the fiber until it calls suspend() or its body returns. Called from the scheduler only.
  void resume();
  // Returns control to the scheduler that called resume(). Called from inside the body only.
  void suspend();
  bool finished() const { return finished_; }

  // First function on a new fiber's stack (public only for the context-switch trampoline).
  static void entry(void* self);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::function<void()> body_;
  bool finished_ = true;
};

}  // namespace s2::emu
