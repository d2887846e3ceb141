// write_faults.h: faults injected into write_file_atomically, for the crash-safety tests only.
//
// Two environment variables, each naming a file by the end of its path ("last.safetensors"):
//   SEQNET_TEST_FAIL_WRITE=SUFFIX       the write of that file fails halfway with "No space left
//                                       on device" (ENOSPC), as on a full disk
//   SEQNET_TEST_PAUSE_WRITE=SUFFIX:MS   the write pauses MS milliseconds halfway, its temporary
//                                       file half written, so a test can kill the process there
// Unset (always, outside tests) they cost one getenv per write.
#pragma once

#include <string>

namespace seqnet {

// Called by write_file_atomically when half of the bytes of `path` are in its temporary file:
// pauses when asked to, and returns the errno to fail with (0: carry on).
int midway_write_fault(const std::string& path);

}  // namespace seqnet
