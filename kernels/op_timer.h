// op_timer.h: per-op wall-clock totals for `seqnet bench --profile`, off unless switched on.
//
// Each op in kernels/ops.cpp starts with SEQNET_OP_TIMER(); which, when timing is off, costs one
// test of a global flag. When on, the op's wall time (from entry to return, the device
// synchronised at both ends when asked, since CUDA launches return before the work is done) is
// added to a total under the op's function name. Only the outermost op is timed when one op
// calls another, so the totals add up to the time spent in ops. The convolutions also describe
// their shape (seqnet_op_timer_.describe), which gives a second set of totals per op and shape:
// the per-layer (per UNet level) breakdown.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace seqnet::ops {

struct OpTime {
  std::string op;     // the ops.h function name, e.g. conv2d_backward_weight
  std::string shape;  // in op_shape_times(): e.g. "N4 C16>K16 128x128 k3"; empty in op_times()
  int64_t calls = 0;
  double seconds = 0;
};

// Switches timing on or off; sync_cuda waits for the GPU around every op (profiling CUDA).
void set_op_timing(bool on, bool sync_cuda = false);
void reset_op_times();
std::vector<OpTime> op_times();  // the totals since the last reset, longest first
// The same for the ops that described their shape, per (op, shape), longest first.
std::vector<OpTime> op_shape_times();

namespace detail {
extern bool g_op_timing;
void op_timer_begin();
void op_timer_end(const char* op, const std::string& shape, std::chrono::steady_clock::time_point start);
}  // namespace detail

class ScopedOpTimer {
 public:
  explicit ScopedOpTimer(const char* op) {
    if (!detail::g_op_timing) return;
    detail::op_timer_begin();
    op_ = op;
    start_ = std::chrono::steady_clock::now();
  }
  ~ScopedOpTimer() {
    if (op_) detail::op_timer_end(op_, shape_, start_);
  }
  // make() -> std::string, called only while timing is on.
  template <typename MakeShape>
  void describe(MakeShape&& make) {
    if (op_) shape_ = make();
  }
  ScopedOpTimer(const ScopedOpTimer&) = delete;
  ScopedOpTimer& operator=(const ScopedOpTimer&) = delete;

 private:
  const char* op_ = nullptr;
  std::string shape_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace seqnet::ops

#define SEQNET_OP_TIMER() ::seqnet::ops::ScopedOpTimer seqnet_op_timer_(__func__)
