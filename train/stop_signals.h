// stop_signals.h: SIGINT (Ctrl-C) and SIGTERM (kill, a batch system's time limit) ask a training
// run to stop at the next step boundary, where it writes a checkpoint and returns, instead of
// dying with up to an epoch of work lost.
//
// While a StopSignals is alive the first such signal only sets a flag (and says so on stderr); the
// handler then steps aside, so a second signal ends the process at once (the atomic checkpoint
// writes keep the files on disk whole).
#pragma once

namespace seqnet {

class StopSignals {
 public:
  StopSignals();   // installs the handlers
  ~StopSignals();  // restores the previous ones
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // The signal that asked to stop (SIGINT or SIGTERM), or 0.
  int requested() const;
};

}  // namespace seqnet
