#include "daemon/memory.hpp"

#include <malloc.h>

namespace audit::daemon {

void tuneAllocator() {
  // Batch buffers (up to a few MB) are filled on worker threads and freed on the loop
  // thread. With glibc's sliding mmap threshold they end up cached in per-thread arenas and
  // RSS creeps up with the range; a fixed threshold hands the larger ones back to the kernel
  // on free (jobs and exports reuse theirs through a BufferPool), and two arenas are plenty
  // for three busy threads. 4 MiB, not less: RocksDB allocates a read-ahead buffer (2 MiB
  // and a little) for every read-ahead of a scan, and at a 1 MiB threshold each was a fresh
  // mapping faulted in page by page: an export ran at a third of the speed it has now.
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
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
