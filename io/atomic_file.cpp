// atomic_file.cpp: temporary file + fsync + rename.
#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "io/write_faults.h"

namespace seqnet {

namespace {

// The file a write to `path` should replace: `path` itself, or the file a symbolic link (or a
// chain of them) points to, so that the link stays a link. Throws when that is not a regular file
// (a FIFO, a device, a folder): a rename over it would replace the node itself.
std::string regular_target(const std::string& path) {
  std::string target = path;
  for (int hops = 0;; ++hops) {
    struct stat info;
    if (::lstat(target.c_str(), &info) != 0) return target;  // absent: created
    if (S_ISREG(info.st_mode)) return target;
    if (!S_ISLNK(info.st_mode))
      throw std::runtime_error("cannot write " + path + ": it is " +
                               (S_ISDIR(info.st_mode)  ? "a folder"
                                : S_ISFIFO(info.st_mode) ? "a FIFO (named pipe)"
                                : S_ISSOCK(info.st_mode) ? "a socket"
                                                         : "a device") +
                               ", not a regular file; give the path of a file");
    if (hops == 40) throw std::runtime_error("cannot write " + path + ": too many levels of symbolic links");
    char link[4096];
    const ssize_t n = ::readlink(target.c_str(), link, sizeof link - 1);
    if (n < 0) throw std::runtime_error("cannot write " + path + ": cannot read the symbolic link: " + std::strerror(errno));
    const std::string to(link, size_t(n));
    const size_t slash = target.find_last_of('/');
    target = to[0] == '/' || slash == std::string::npos ? to : target.substr(0, slash + 1) + to;
  }
}

}  // namespace

void write_file_atomically(const std::string& requested_path, std::string_view bytes) {
  const std::string path = regular_target(requested_path);
  const std::string tmp = path + ".tmp-" + std::to_string(getpid());
  auto fail = [&](const char* step) {
    std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot write " + path + " (" + step + "): " + why);
  };
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("create");
  // Two halves, with the test faults (write_faults.h) between them.
  size_t done = 0;
  for (const size_t end : {bytes.size() / 2, bytes.size()}) {
    while (done < end) {
      ssize_t n = ::write(fd, bytes.data() + done, end - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        ::close(fd);
        fail("write");
      }
      done += static_cast<size_t>(n);
    }
    if (end < bytes.size()) {
      if (const int fault = midway_write_fault(path)) {
        ::close(fd);
        errno = fault;
        fail("write");
      }
    }
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    fail("fsync");
  }
  if (::close(fd) != 0) fail("close");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("rename");
  // The rename itself reaches the disk when the folder is synced (else a power cut may undo it).
  const size_t slash = path.find_last_of('/');
  const std::string folder = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const int dir_fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);  // best effort: the file is complete and in place either way
    ::close(dir_fd);
  }
}

}  // namespace seqnet
