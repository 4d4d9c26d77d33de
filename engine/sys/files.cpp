#include "sys/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

namespace rb::sys {

Status write_file(const std::string& path, std::string_view data, mode_t mode, Existing existing) {
  bool replace = existing == Existing::Replace;
  std::string target = replace ? path + ".XXXXXX" : path;
  int fd = replace ? ::mkstemp(target.data()) : ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::Error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  if (replace) ::fchmod(fd, mode);  // mkstemp makes 0600; the umask does not apply to fchmod
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  bool ok = done == data.size() && ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (ok && replace && ::rename(target.c_str(), path.c_str()) != 0) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    ::unlink(target.c_str());
    return Status::Error(fmt::format("cannot write {}: {}", path, std::strerror(err)));
  }
  return Status::OK();
}

}  // namespace rb::sys
