#pragma once
// How the daemon asks glibc's allocator to treat memory. A replay allocates and frees a few
// MB per batch (batch buffers, RocksDB's block buffers) on three threads; glibc's defaults
// either keep too much of it (RSS following the range) or hand it back after every free
// (each batch faulting its pages in again). These two calls settle between the two.

namespace audit::daemon {

/** Sets the allocator's thresholds. Call first thing in main(), before any thread starts. */
void tuneAllocator();

/**
 * Returns free memory the allocator still holds to the kernel. The daemon calls it once a
 * second on a worker thread, so RSS stays flat however long a replay runs.
 */
void releaseFreeMemory();

}  // namespace audit::daemon
