#pragma once
// A log format by its wire name, as requests spell it (an export's "format", a webhook
// override's "log_format"): "json", "cef" or "cps".

#include <optional>
#include <string_view>

#include "config/config.hpp"

namespace audit::jobs {

/** The format named `text`; none for any other text. */
std::optional<config::EventFormat> parseLogFormat(std::string_view text);

}  // namespace audit::jobs
