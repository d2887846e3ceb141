// op_timer.cpp: per-op wall-clock totals (op_timer.h).
#include "kernels/op_timer.h"

#include <algorithm>
#include <map>

#include "kernels/cuda/runtime.h"

namespace seqnet::ops {
namespace detail {
bool g_op_timing = false;
}  // namespace detail

namespace {
bool g_sync_cuda = false;
int g_depth = 0;  // ops running now (nested calls are not timed again)
std::map<std::string, OpTime> g_times;
}  // namespace

void set_op_timing(bool on, bool sync_cuda) {
  detail::g_op_timing = on;
  g_sync_cuda = on && sync_cuda;
}

void reset_op_times() { g_times.clear(); }

std::vector<OpTime> op_times() {
  std::vector<OpTime> out;
  for (const auto& [name, t] : g_times) out.push_back(t);
  std::sort(out.begin(), out.end(), [](const OpTime& a, const OpTime& b) { return a.seconds > b.seconds; });
  return out;
}

namespace detail {

void op_timer_begin() {
  if (g_depth++ == 0 && g_sync_cuda) cuda::synchronize();
}

void op_timer_end(const char* op, std::chrono::steady_clock::time_point start) {
  if (--g_depth != 0) return;
  if (g_sync_cuda) cuda::synchronize();
  OpTime& t = g_times[op];
  t.op = op;
  t.calls += 1;
  t.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace detail
}  // namespace seqnet::ops
