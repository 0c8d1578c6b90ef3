// `--output json` written as it is produced (SPEC 5 guarantee 7): a run's
// per-key items (diffs, key errors) go to stdout as they come instead of
// growing one document in memory; the printed text stays ONE JSON document,
// laid out as nlohmann's dump(2) lays it out.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace keyshift {

// Opens objects and arrays, writes members and elements, closes them. Text
// is buffered and handed to Emit (emit.h) in chunks, so a closed pipe is
// noted as an interrupt as on the text path, and later text is dropped.
class JsonStream {
 public:
  explicit JsonStream(std::FILE* out) : out_(out) {}
  ~JsonStream() { Flush(); }
  JsonStream(const JsonStream&) = delete;
  JsonStream& operator=(const JsonStream&) = delete;

  bool started() const { return started_; }
  bool complete() const { return started_ && stack_.empty(); }
  size_t depth() const { return stack_.size(); }

  void BeginObject();
  void BeginArray();
  // The name of the next member (inside an object only).
  void Key(std::string_view name);
  // A whole value: an array element, or the value of the member just named.
  void Value(const nlohmann::json& value);
  void Member(std::string_view name, const nlohmann::json& value) {
    Key(name);
    Value(value);
  }
  // Each member of `object`, into the open object.
  void Members(const nlohmann::json& object);
  // Closes the innermost open object or array; the last one ends the line
  // and flushes.
  void End();
  // Closes what is open until `depth` containers remain.
  void CloseTo(size_t depth);
  // Ends a started document with the members of `error` (an ErrorJson) at
  // its top level, so that a run stopped part-way still prints one valid
  // document: what was streamed, then "ok": false and "error".
  void FinishWithError(const nlohmann::json& error);
  void Flush();

 private:
  struct Level {
    bool array;
    bool empty = true;
  };
  void BeforeValue();  // the separator and indentation a new element or member needs
  void Open(bool array, char bracket);
  void Write(std::string_view text);
  std::string Indent(size_t depth) const { return std::string(2 * depth, ' '); }

  std::FILE* out_;
  std::string buffer_;
  std::vector<Level> stack_;
  bool after_key_ = false;
  bool started_ = false;
};

// A member array written only once it has an element: "diffs" stays absent
// when there are none, as in the documents built whole before.
class LazyArray {
 public:
  LazyArray(JsonStream& stream, std::string name) : stream_(stream), name_(std::move(name)) {}
  void Add(const nlohmann::json& element);
  // Ends the array if it was opened; the parent object takes members again.
  void Close();
  bool opened() const { return opened_; }

 private:
  JsonStream& stream_;
  std::string name_;
  bool opened_ = false;
  bool closed_ = false;
};

// Elements set aside in an unlinked temporary file while another array of
// the same object is being streamed (key errors arrive between diffs), and
// written as a member array afterwards. Memory stays flat in their number.
class JsonSpool {
 public:
  JsonSpool() = default;
  ~JsonSpool();
  JsonSpool(const JsonSpool&) = delete;
  JsonSpool& operator=(const JsonSpool&) = delete;

  void Add(const nlohmann::json& element);
  bool empty() const { return count_ == 0; }
  // Writes "name": [ the elements, in order ] into `stream`'s open object;
  // nothing when there are none.
  void WriteMember(JsonStream& stream, std::string_view name);

 private:
  void OpenFile();  // on the first element: text output and clean runs make none

  std::FILE* file_ = nullptr;
  std::vector<std::string> memory_;  // only when no temporary file could be made
  long long count_ = 0;
};

}  // namespace keyshift
