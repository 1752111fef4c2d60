#include "kernels/emu/fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define S2_FIBER_ASAN 1
#endif

#if defined(__x86_64__)
// Saves the callee-saved registers on the current stack, stores its pointer in *save_sp and
// continues on load_sp. A new fiber's stack is laid out so that the first switch "returns" into
// the trampoline, which calls entry(arg) with arg and entry parked in r12 and r13.
extern "C" void s2_emu_switch(void** save_sp, void* load_sp);
extern "C" void s2_emu_trampoline();
asm(R"(
.pushsection .text
.globl s2_emu_switch
.type s2_emu_switch,@function
s2_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
.size s2_emu_switch,.-s2_emu_switch
.globl s2_emu_trampoline
.type s2_emu_trampoline,@function
s2_emu_trampoline:
  movq %r12, %rdi
  andq $-16, %rsp
  callq *%r13
  ud2
.size s2_emu_trampoline,.-s2_emu_trampoline
.popsection
)");
#else
#include <ucontext.h>
#endif

namespace s2::emu {

struct Fiber::Impl {
  char* mapping = nullptr;
  size_t mapping_bytes = 0;
  char* stack_bottom = nullptr;  // lowest usable address, above the guard page
  size_t stack_bytes = 0;
  std::exception_ptr error;
#if defined(__x86_64__)
  void* fiber_sp = nullptr;
  void* scheduler_sp = nullptr;
#else
  ucontext_t fiber_ctx{}, scheduler_ctx{};
#endif
#ifdef S2_FIBER_ASAN
  void* fiber_fake_stack = nullptr;
  void* scheduler_fake_stack = nullptr;
  const void* scheduler_bottom = nullptr;
  size_t scheduler_size = 0;
#endif
};

namespace {
size_t page_size() {
  return static_cast<size_t>(sysconf(_SC_PAGESIZE));
}
}  // namespace

Fiber::Fiber(size_t stack_bytes) : impl_(std::make_unique<Impl>()) {
  const size_t page = page_size();
  impl_->stack_bytes = (stack_bytes + page - 1) / page * page;
  impl_->mapping_bytes = impl_->stack_bytes + page;
  void* m = mmap(nullptr, impl_->mapping_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    throw std::runtime_error("CUDA emulator: cannot map a fiber stack of " + std::to_string(stack_bytes) +
                             " bytes");
  }
  impl_->mapping = static_cast<char*>(m);
  // A guard page below the stack turns a stack overflow in a kernel into a fault, not corruption.
  mprotect(impl_->mapping, page, PROT_NONE);
  impl_->stack_bottom = impl_->mapping + page;
}

Fiber::~Fiber() {
#ifdef S2_FIBER_ASAN
  // ASan keeps the stack's poisoning in its shadow after munmap: a later mapping at the same address
  // (a large heap block, say) would then be reported as a stack access.
  __asan_unpoison_memory_region(impl_->stack_bottom, impl_->stack_bytes);
#endif
  munmap(impl_->mapping, impl_->mapping_bytes);
}

void Fiber::entry(void* self) {
  auto* fiber = static_cast<Fiber*>(self);
  Impl& impl = *fiber->impl_;
#ifdef S2_FIBER_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &impl.scheduler_bottom, &impl.scheduler_size);
#endif
  try {
    fiber->body_();
  } catch (...) {
    impl.error = std::current_exception();
  }
  fiber->finished_ = true;
#ifdef S2_FIBER_ASAN
  __sanitizer_start_switch_fiber(nullptr, impl.scheduler_bottom, impl.scheduler_size);  // stack dies
#endif
#if defined(__x86_64__)
  s2_emu_switch(&impl.fiber_sp, impl.scheduler_sp);
#else
  setcontext(&impl.scheduler_ctx);
#endif
  std::terminate();  // a finished fiber is never resumed
}

#if !defined(__x86_64__)
namespace {
void ucontext_entry(unsigned hi, unsigned lo) {
  const auto self = (static_cast<uintptr_t>(hi) << 32) | lo;
  Fiber::entry(reinterpret_cast<void*>(self));
}
}  // namespace
#endif

void Fiber::reset(std::function<void()> body) {
  body_ = std::move(body);
  finished_ = false;
  impl_->error = nullptr;
#ifdef S2_FIBER_ASAN
  // The previous run left its frames' redzones poisoned (a fiber may be abandoned mid-kernel).
  __asan_unpoison_memory_region(impl_->stack_bottom, impl_->stack_bytes);
#endif
#if defined(__x86_64__)
  auto* top = reinterpret_cast<uintptr_t*>(
      (reinterpret_cast<uintptr_t>(impl_->stack_bottom + impl_->stack_bytes) & ~uintptr_t{15}) - 64);
  top[0] = 0;                                                // r15
  top[1] = 0;                                                // r14
  top[2] = reinterpret_cast<uintptr_t>(&Fiber::entry);       // r13
  top[3] = reinterpret_cast<uintptr_t>(this);                // r12
  top[4] = 0;                                                // rbx
  top[5] = 0;                                                // rbp
  top[6] = reinterpret_cast<uintptr_t>(&s2_emu_trampoline);  // return address
  impl_->fiber_sp = top;
#else
  getcontext(&impl_->fiber_ctx);
  impl_->fiber_ctx.uc_stack.ss_sp = impl_->stack_bottom;
  impl_->fiber_ctx.uc_stack.ss_size = impl_->stack_bytes;
  impl_->fiber_ctx.uc_link = nullptr;
  const auto self = reinterpret_cast<uintptr_t>(this);
  makecontext(&impl_->fiber_ctx, reinterpret_cast<void (*)()>(&ucontext_entry), 2,
              static_cast<unsigned>(self >> 32), static_cast<unsigned>(self));
#endif
}

void Fiber::resume() {
  if (finished_) {
    throw std::logic_error("CUDA emulator: resumed a finished fiber");
  }
#ifdef S2_FIBER_ASAN
  __sanitizer_start_switch_fiber(&impl_->scheduler_fake_stack, impl_->stack_bottom, impl_->stack_bytes);
#endif
#if defined(__x86_64__)
  s2_emu_switch(&impl_->scheduler_sp, impl_->fiber_sp);
#else
  swapcontext(&impl_->scheduler_ctx, &impl_->fiber_ctx);
#endif
#ifdef S2_FIBER_ASAN
  __sanitizer_finish_switch_fiber(impl_->scheduler_fake_stack, nullptr, nullptr);
#endif
  if (finished_ && impl_->error) {
    std::rethrow_exception(std::exchange(impl_->error, nullptr));
  }
}

void Fiber::suspend() {
#ifdef S2_FIBER_ASAN
  __sanitizer_start_switch_fiber(&impl_->fiber_fake_stack, impl_->scheduler_bottom, impl_->scheduler_size);
#endif
#if defined(__x86_64__)
  s2_emu_switch(&impl_->fiber_sp, impl_->scheduler_sp);
#else
  swapcontext(&impl_->fiber_ctx, &impl_->scheduler_ctx);
#endif
#ifdef S2_FIBER_ASAN
  __sanitizer_finish_switch_fiber(impl_->fiber_fake_stack, &impl_->scheduler_bottom, &impl_->scheduler_size);
#endif
}

}  // namespace s2::emu
