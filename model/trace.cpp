// trace.cpp: the tracing hook of trace.h.
#include "model/trace.h"

#include <utility>

namespace seqnet {

namespace {
TraceHook& hook() {
  static TraceHook h;
  return h;
}
}  // namespace

namespace detail {
bool g_tracing = false;
void report(const std::string& path, TracePass pass, const Tensor& t) { hook()(path, pass, t); }
}  // namespace detail

void set_trace_hook(TraceHook h) {
  detail::g_tracing = static_cast<bool>(h);
  hook() = std::move(h);
}

}  // namespace seqnet
