// write_faults.cpp: the test faults of write_faults.h.
#include "io/write_faults.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace seqnet {

namespace {
bool ends_with(const std::string& text, const std::string& suffix) {
  return !suffix.empty() && text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

int midway_write_fault(const std::string& path) {
  if (const char* pause = std::getenv("SEQNET_TEST_PAUSE_WRITE")) {
    const std::string spec = pause;
    const size_t colon = spec.rfind(':');
    if (colon != std::string::npos && ends_with(path, spec.substr(0, colon))) {
      const long ms = std::atol(spec.c_str() + colon + 1);
      std::fprintf(stderr, "seqnet: test fault: pausing the write of %s for %ld ms\n", path.c_str(), ms);
      std::fflush(stderr);
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
  }
  if (const char* fail = std::getenv("SEQNET_TEST_FAIL_WRITE"); fail && ends_with(path, fail)) return ENOSPC;
  return 0;
}

}  // namespace seqnet
