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
std::map<std::pair<std::string, std::string>, OpTime> g_shape_times;  // by (op, shape)

std::vector<OpTime> longest_first(std::vector<OpTime> out) {
  std::sort(out.begin(), out.end(), [](const OpTime& a, const OpTime& b) { return a.seconds > b.seconds; });
  return out;
}
}  // namespace

void set_op_timing(bool on, bool sync_cuda) {
  detail::g_op_timing = on;
  g_sync_cuda = on && sync_cuda;
}

void reset_op_times() {
  g_times.clear();
  g_shape_times.clear();
}

std::vector<OpTime> op_times() {
  std::vector<OpTime> out;
  for (const auto& [name, t] : g_times) out.push_back(t);
  return longest_first(std::move(out));
}

std::vector<OpTime> op_shape_times() {
  std::vector<OpTime> out;
  for (const auto& [key, t] : g_shape_times) out.push_back(t);
  return longest_first(std::move(out));
}

namespace detail {

void op_timer_begin() {
  if (g_depth++ == 0 && g_sync_cuda) cuda::synchronize();
}

void op_timer_end(const char* op, const std::string& shape, std::chrono::steady_clock::time_point start) {
  if (--g_depth != 0) return;
  if (g_sync_cuda) cuda::synchronize();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  OpTime& t = g_times[op];
  t.op = op;
  t.calls += 1;
  t.seconds += seconds;
  if (shape.empty()) return;
  OpTime& ts = g_shape_times[{op, shape}];
  ts.op = op;
  ts.shape = shape;
  ts.calls += 1;
  ts.seconds += seconds;
}

}  // namespace detail
}  // namespace seqnet::ops
