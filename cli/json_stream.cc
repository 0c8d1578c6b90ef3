#include "cli/json_stream.h"

#include <unistd.h>

#include <cstdlib>

#include "cli/emit.h"
#include "cli/json_output.h"

namespace keyshift {

namespace {

// Chunks this big reach stdout: few syscalls, and memory that does not
// depend on the run's size.
constexpr size_t kFlushAt = 64 * 1024;

}  // namespace

void JsonStream::Write(std::string_view text) {
  buffer_.append(text);
  if (buffer_.size() >= kFlushAt) Flush();
}

void JsonStream::Flush() {
  if (buffer_.empty()) return;
  Emit(out_, buffer_);
  buffer_.clear();
}

void JsonStream::BeforeValue() {
  started_ = true;
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (stack_.empty()) return;
  Level& parent = stack_.back();
  Write(parent.empty ? "\n" : ",\n");
  parent.empty = false;
  Write(Indent(stack_.size()));
}

void JsonStream::Open(bool array, char bracket) {
  BeforeValue();
  Write(std::string_view(&bracket, 1));
  stack_.push_back(Level{array});
}

void JsonStream::BeginObject() { Open(false, '{'); }
void JsonStream::BeginArray() { Open(true, '['); }

void JsonStream::Key(std::string_view name) {
  Level& parent = stack_.back();
  Write(parent.empty ? "\n" : ",\n");
  parent.empty = false;
  Write(Indent(stack_.size()));
  Write(DumpJson(std::string(name)));
  Write(": ");
  after_key_ = true;
}

void JsonStream::Value(const nlohmann::json& value) {
  BeforeValue();
  // dump(2) lays a nested value out from column 0: shift its lines to where
  // it sits (a newline inside a string is escaped, so each one is layout).
  std::string text = DumpJson(value, 2);
  std::string indent = "\n" + Indent(stack_.size());
  size_t from = 0;
  for (size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', from)) {
    Write(std::string_view(text).substr(from, nl - from));
    Write(indent);
    from = nl + 1;
  }
  Write(std::string_view(text).substr(from));
  if (stack_.empty()) {
    Write("\n");
    Flush();
  }
}

void JsonStream::Members(const nlohmann::json& object) {
  for (const auto& [name, value] : object.items()) Member(name, value);
}

void JsonStream::End() {
  if (after_key_) Value(nullptr);  // a member left without its value would break the document
  Level level = stack_.back();
  stack_.pop_back();
  const char* close = level.array ? "]" : "}";
  if (!level.empty) Write("\n" + Indent(stack_.size()));
  Write(close);
  if (stack_.empty()) {
    Write("\n");
    Flush();
  }
}

void JsonStream::CloseTo(size_t depth) {
  while (stack_.size() > depth) End();
}

void JsonStream::FinishWithError(const nlohmann::json& error) {
  if (!started_ || complete()) return;
  CloseTo(1);
  if (stack_.back().array) Value(error);
  else Members(error);
  End();
}

void LazyArray::Add(const nlohmann::json& element) {
  if (!opened_) {
    stream_.Key(name_);
    stream_.BeginArray();
    opened_ = true;
  }
  stream_.Value(element);
}

void LazyArray::Close() {
  if (!opened_ || closed_) return;
  stream_.End();
  closed_ = true;
}

void JsonSpool::OpenFile() {
  const char* tmp = std::getenv("TMPDIR");
  std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/keyshift-spool-XXXXXX";
  int fd = mkstemp(path.data());
  if (fd < 0) return;
  unlink(path.c_str());  // gone with the process, whatever way it ends
  file_ = fdopen(fd, "w+");
  if (!file_) close(fd);
}

JsonSpool::~JsonSpool() {
  if (file_) std::fclose(file_);
}

void JsonSpool::Add(const nlohmann::json& element) {
  if (count_++ == 0) OpenFile();
  std::string line = DumpJson(element);  // compact: one element per line
  if (file_ && memory_.empty() && std::fputs((line + "\n").c_str(), file_) >= 0) return;
  // No room on disk (or no temp file at all): keeping the elements in memory
  // (in order, after the file's) beats losing an error the run must report.
  memory_.push_back(std::move(line));
}

void JsonSpool::WriteMember(JsonStream& stream, std::string_view name) {
  if (count_ == 0) return;
  stream.Key(name);
  stream.BeginArray();
  if (file_) {
    std::fflush(file_);
    std::rewind(file_);
    char* line = nullptr;
    size_t cap = 0;
    for (ssize_t n; (n = getline(&line, &cap, file_)) > 0;) {
      // A line cut short by a full disk is dropped, not allowed to break the document.
      auto element = nlohmann::json::parse(std::string_view(line, static_cast<size_t>(n)), nullptr, false);
      if (!element.is_discarded()) stream.Value(element);
    }
    std::free(line);
  }
  for (const std::string& text : memory_) stream.Value(nlohmann::json::parse(text));
  stream.End();
}

}  // namespace keyshift
