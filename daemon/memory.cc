#include "daemon/memory.hpp"

#include <malloc.h>

namespace audit::daemon {

void tuneAllocator() {
  // Batch buffers (up to a few MB) are filled on worker threads and freed on the loop
  // thread. With glibc's sliding mmap threshold they end up cached in per-thread arenas and
  // RSS creeps up with the range; a fixed 1 MiB threshold hands them back to the kernel on
  // free (the replay job reuses its own through a BufferPool), and two arenas are plenty
  // for three busy threads.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  mallopt(M_ARENA_MAX, 2);
  // A fixed mmap threshold also freezes the trim threshold at 128 KiB, so every burst of
  // RocksDB block buffers went back to the kernel and was faulted in again: a third of an
  // uncompressed replay's CPU was page faults. Up to 8 MiB stay free at the top of an
  // arena, which grows 8 MiB at a time; releaseFreeMemory() returns the rest each second.
  mallopt(M_TRIM_THRESHOLD, 8 << 20);
  mallopt(M_TOP_PAD, 8 << 20);
}

void releaseFreeMemory() {
  malloc_trim(0);
}

}  // namespace audit::daemon
