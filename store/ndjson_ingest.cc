#include "store/ndjson_ingest.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/line_reader.hpp"
#include "source/event_time.hpp"

namespace audit::store {
namespace {

std::string tooLong(std::size_t max_line) {
  return "line longer than " + std::to_string(max_line) + " bytes";
}

bool isBlank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

boost::system::error_code readError(int err) {
  return {err != 0 ? err : EIO, boost::system::system_category()};
}

// Lines of one chunk, copied out of the reader (its views die at the next line).
class Chunk {
 public:
  void add(std::string_view line, std::size_t number) {
    data_.append(line);
    ends_.push_back(data_.size());
    numbers_.push_back(number);
  }
  std::size_t lines() const { return ends_.size(); }
  std::size_t bytes() const { return data_.size(); }
  void clear() {
    data_.clear();
    ends_.clear();
    numbers_.clear();
  }

  /** Ingests the chunk, translating positions in the call to line numbers. */
  source::Result<void> ingestInto(source::EventSource& source, bool skip_invalid,
                                  source::IngestReport& total) const {
    std::vector<std::string_view> views;
    views.reserve(ends_.size());
    std::size_t begin = 0;
    for (std::size_t end : ends_) {
      views.emplace_back(std::string_view(data_).substr(begin, end - begin));
      begin = end;
    }
    auto report = source.ingest(views, skip_invalid, 0);
    if (!report) return report.error();
    total.ingested += report->ingested;
    total.duplicates += report->duplicates;
    for (auto& r : report->rejected)
      total.rejected.push_back({numbers_[r.index], std::move(r.reason)});
    return {};
  }

  /** Reports the chunk's bad lines without storing anything. */
  void checkInto(source::IngestReport& total) const {
    std::size_t begin = 0;
    for (std::size_t i = 0; i < ends_.size(); ++i) {
      source::EventTime t =
          source::extractEventTime(std::string_view(data_).substr(begin, ends_[i] - begin));
      if (!t.ok) total.rejected.push_back({numbers_[i], std::move(t.reason)});
      begin = ends_[i];
    }
  }

 private:
  std::string data_;
  std::vector<std::size_t> ends_;
  std::vector<std::size_t> numbers_;
};

// Checks every line without storing anything. @return the rejections.
source::Result<std::vector<source::Rejection>> checkAll(int fd, const NdjsonOptions& options) {
  LineReader reader(fd, options.max_line);
  std::vector<source::Rejection> rejected;
  std::string_view line;
  for (;;) {
    switch (reader.next(line)) {
      case LineReader::Status::End:
        return rejected;
      case LineReader::Status::Error:
        return readError(reader.error());
      case LineReader::Status::TooLong:
        rejected.push_back({reader.lineNumber(), tooLong(options.max_line)});
        break;
      case LineReader::Status::Line:
        if (isBlank(line)) break;
        if (source::EventTime t = source::extractEventTime(line); !t.ok) {
          rejected.push_back({reader.lineNumber(), std::move(t.reason)});
        }
        break;
    }
  }
}

// Reads to the end, ingesting chunk by chunk. Without skip_invalid, stops storing after the
// first chunk with a bad line but keeps checking so every bad line is reported.
source::Result<source::IngestReport> ingestChunks(source::EventSource& source, int fd,
                                                  const NdjsonOptions& options) {
  LineReader reader(fd, options.max_line);
  source::IngestReport total;
  Chunk chunk;
  bool storing = true;
  auto flush = [&]() -> source::Result<void> {
    if (chunk.lines() == 0) return {};
    std::size_t before = total.rejected.size();
    source::Result<void> r;
    if (storing) {
      r = chunk.ingestInto(source, options.skip_invalid, total);
    } else {
      chunk.checkInto(total);  // lines gathered before a too-long line stopped storing
    }
    chunk.clear();
    if (total.rejected.size() > before && !options.skip_invalid) storing = false;
    return r;
  };
  std::string_view line;
  for (;;) {
    LineReader::Status st = reader.next(line);
    if (st == LineReader::Status::End) break;
    if (st == LineReader::Status::Error) return readError(reader.error());
    if (st == LineReader::Status::TooLong) {
      total.rejected.push_back({reader.lineNumber(), tooLong(options.max_line)});
      if (!options.skip_invalid) storing = false;
      continue;
    }
    if (isBlank(line)) continue;
    if (!storing) {
      // Nothing more is stored; only report.
      if (source::EventTime t = source::extractEventTime(line); !t.ok) {
        total.rejected.push_back({reader.lineNumber(), std::move(t.reason)});
      }
      continue;
    }
    chunk.add(line, reader.lineNumber());
    if (chunk.lines() >= options.chunk_lines || chunk.bytes() >= options.chunk_bytes) {
      if (auto r = flush(); !r) return r.error();
    }
  }
  if (auto r = flush(); !r) return r.error();
  // A chunk checked late reports after the lines that followed it.
  std::stable_sort(
      total.rejected.begin(), total.rejected.end(),
      [](const source::Rejection& a, const source::Rejection& b) { return a.index < b.index; });
  return total;
}

}  // namespace

source::Result<source::IngestReport> ingestNdjson(source::EventSource& source, int fd,
                                                  const NdjsonOptions& options) {
  struct stat st {};
  off_t start = -1;
  if (!options.skip_invalid && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    start = ::lseek(fd, 0, SEEK_CUR);
  }
  if (start >= 0) {
    auto rejected = checkAll(fd, options);
    if (!rejected) return rejected.error();
    if (!rejected->empty()) {
      source::IngestReport report;
      report.rejected = std::move(*rejected);
      return report;
    }
    if (::lseek(fd, start, SEEK_SET) != start) return readError(errno);
  }
  return ingestChunks(source, fd, options);
}

}  // namespace audit::store
