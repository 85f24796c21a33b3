#pragma once
// The one error style at a module's edge for a call whose failure ends in a message: a value,
// or a Failure carrying the one line an operator reads ("webhook url: scheme must be http or
// https"). Calls whose callers branch on the kind of failure use error codes instead
// (source::Result, jobs::Outcome's Refusal); nothing returns bool and fills a string.

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace audit {

/** Why a call failed, as one line without a trailing period. */
struct Failure {
  std::string message;
};

/** For Expected::value() on a failure (found by argument-dependent lookup): throws the
 *  message. Callers that handle failures test the result instead. */
[[noreturn]] inline void throw_exception_from_error(const Failure& failure,
                                                    const boost::source_location&) {
  throw std::runtime_error(failure.message);
}

/**
 * A value (nothing, for T = void) or the Failure that prevented it. [[nodiscard]]: a result
 * that can fail is never dropped unread. `return Failure{"…"};` fails, `return value;` (or
 * `return {};` for void) succeeds.
 */
template <class T = void>
class [[nodiscard]] Expected : public boost::system::result<T, Failure> {
  using Base = boost::system::result<T, Failure>;

 public:
  // Own constructors rather than the base's: a Failure is constructible from a string, which
  // would make `return some_string;` ambiguous for Expected<std::string>.
  template <class A>
  requires std::is_convertible_v<A, T> &&(!std::is_same_v<std::remove_cvref_t<A>, Failure>)
      Expected(A&& value)  // NOLINT(google-explicit-constructor)
      : Base(boost::system::in_place_value, std::forward<A>(value)) {}
  Expected(Failure failure)  // NOLINT(google-explicit-constructor)
      : Base(boost::system::in_place_error, std::move(failure)) {}

  /** The failure's message; only on a failed result. */
  std::string message() const { return this->error().message; }
};

template <>
class [[nodiscard]] Expected<void> : public boost::system::result<void, Failure> {
  using Base = boost::system::result<void, Failure>;

 public:
  Expected() = default;
  Expected(Failure failure)  // NOLINT(google-explicit-constructor)
      : Base(boost::system::in_place_error, std::move(failure)) {}

  /** The failure's message; only on a failed result. */
  std::string message() const { return this->error().message; }
};

}  // namespace audit
