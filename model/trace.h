// trace.h: a hook through which the model blocks report every layer's tensors, for `seqnet trace`
// (apps/cmd_trace.cpp). Off unless a hook is set: then each report costs one test of a flag.
//
// Forward reports each layer's output under the layer's path (the names `seqnet summary` prints,
// e.g. seg.unet.enc.0.conv1). Backward reports, under the same path, the gradient of the loss
// with respect to that layer's output (dL/dy, the gradient the layer receives), in the order the
// backward pass computes them. The refiner's shared layers report once per iteration.
#pragma once

#include <functional>
#include <string>

#include "kernels/tensor.h"

namespace seqnet {

enum class TracePass { forward, backward };
using TraceHook = std::function<void(const std::string& path, TracePass pass, const Tensor& t)>;

// Sets (or, with an empty function, clears) the hook. Not thread-safe: set it before running.
void set_trace_hook(TraceHook hook);

namespace detail {
extern bool g_tracing;
void report(const std::string& path, TracePass pass, const Tensor& t);
}  // namespace detail

// True while a hook is set: blocks that fuse layers (DoubleConv) run them one by one instead, so
// that each layer's output exists to be reported.
inline bool tracing() { return detail::g_tracing; }

namespace detail {
inline void append(std::string& path, const std::string& part) { path += part; }
inline void append(std::string& path, const char* part) { path += part; }
inline void append(std::string& path, int part) { path += std::to_string(part); }
}  // namespace detail

// Reports t under the path made of `parts` (strings and ints, concatenated) when a hook is set;
// builds the path only then. E.g. trace_layer(TracePass::forward, y, name, ".pool.", l).
template <typename... Parts>
void trace_layer(TracePass pass, const Tensor& t, const Parts&... parts) {
  if (!detail::g_tracing) return;
  std::string path;
  (detail::append(path, parts), ...);
  detail::report(path, pass, t);
}

}  // namespace seqnet
