// stop_signals.cpp: StopSignals (stop_signals.h).
#include "train/stop_signals.h"

#include <signal.h>
#include <unistd.h>

namespace seqnet {

namespace {

volatile sig_atomic_t g_requested = 0;
struct sigaction g_previous_int, g_previous_term;

// Only async-signal-safe calls: a flag, write(2), and sigaction to step aside.
void on_stop_signal(int signal) {
  g_requested = signal;
  static const char message[] =
      "\ntrain: stopping at the end of this step to write a checkpoint (signal again to quit at once)\n";
  [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, message, sizeof message - 1);
  struct sigaction fallback = {};
  fallback.sa_handler = SIG_DFL;
  sigaction(signal, &fallback, nullptr);
}

}  // namespace

StopSignals::StopSignals() {
  g_requested = 0;
  struct sigaction action = {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // other threads' system calls carry on
  sigaction(SIGINT, &action, &g_previous_int);
  sigaction(SIGTERM, &action, &g_previous_term);
}

StopSignals::~StopSignals() {
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
}

int StopSignals::requested() const { return g_requested; }

}  // namespace seqnet
