#pragma once
// Whether this test binary (and so the daemon built with it) runs under a sanitizer
// (AddressSanitizer, or ThreadSanitizer in the opt-in pass of scripts/test.sh). Tests that take
// every file descriptor away skip there: the sanitizer runtime probes memory through a pipe of
// its own, so with no descriptor left UndefinedBehaviorSanitizer reports every virtual call as
// one on an invalid object. Tests that measure the daemon's memory skip too: the sanitizers'
// shadow memory is part of what they would measure. They run in the normal build.

namespace audit::test {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kUnderSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kUnderSanitizer = true;
#else
inline constexpr bool kUnderSanitizer = false;
#endif
#else
inline constexpr bool kUnderSanitizer = false;
#endif

}  // namespace audit::test
