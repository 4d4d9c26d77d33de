// Baselines for the benchmarks, without any interpreter in the way:
//   bench_baseline spawn N [DIR [SYNCS]]   N times: run `sh -c true` and wait; with DIR,
//                                  also SYNCS (default 1) write + fdatasync of a file in DIR
//                                  per iteration — the minimum a journaled step costs on
//                                  that disk (one durable commit per step).
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

extern char** environ;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_baseline spawn N [DIR [SYNCS]]\n");
    return 2;
  }
  int n = std::atoi(argv[2]);
  int fd = -1;
  int syncs = argc > 4 ? std::atoi(argv[4]) : 1;
  if (argc > 3) {
    std::string path = std::string(argv[3]) + "/baseline.bin";
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return 1;
    ::unlink(path.c_str());
  }
  char* args[] = {const_cast<char*>("sh"), const_cast<char*>("-c"), const_cast<char*>("true"), nullptr};
  char block[512] = {1};
  for (int i = 0; i < n; ++i) {
    pid_t pid;
    if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, args, environ) != 0) return 1;
    int st;
    waitpid(pid, &st, 0);
    if (fd >= 0) {
      for (int k = 0; k < syncs; ++k) {
        if (::pwrite(fd, block, sizeof block, static_cast<off_t>(i * syncs + k) * 512) < 0) return 1;
        ::fdatasync(fd);
      }
    }
  }
  return 0;
}
