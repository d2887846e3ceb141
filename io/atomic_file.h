// atomic_file.h: writing a file so that readers see the old version or the new one, never half.
//
// The bytes go to "<path>.tmp-<pid>" in the same folder, are flushed to disk, then renamed over
// `path` (rename is atomic on POSIX file systems); the folder is flushed so the rename lasts. A
// failure leaves the old file untouched and throws std::runtime_error naming the path and the
// reason. A process killed mid-write leaves the old file and a stray "<path>.tmp-<pid>".
// A symbolic link is written through (its target is replaced, the link stays); a path that is
// not a regular file (a FIFO, a device, a folder) is refused, never replaced.
#pragma once

#include <string>
#include <string_view>

namespace seqnet {

void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace seqnet
