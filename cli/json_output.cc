#include "cli/json_output.h"

#include <cctype>

namespace keyshift {

nlohmann::json ErrorJson(int code, const std::string& message) {
  return {{"ok", false}, {"error", {{"code", code}, {"message", message}}}};
}

nlohmann::json KeyErrorJson(const std::string& key, const std::string& file, const std::string& message) {
  nlohmann::json line = nullptr;
  std::string anchor = file + ":";
  size_t pos = file.empty() ? std::string::npos : message.find(anchor);
  if (pos != std::string::npos) {
    size_t start = pos + anchor.size(), end = start;
    while (end < message.size() && std::isdigit(static_cast<unsigned char>(message[end]))) ++end;
    if (end > start && end - start < 10) line = std::stol(message.substr(start, end - start));
  }
  return {{"key", key}, {"file", file}, {"line", line}, {"message", message}};
}

void BeginMigrationsJson(JsonStream& doc, bool dry_run) {
  doc.BeginObject();
  doc.Member("dry_run", dry_run);
  doc.Key("migrations");
  doc.BeginArray();
}

void EndMigrationsJson(JsonStream& doc, const nlohmann::json& members) {
  doc.End();
  doc.Members(members);
  doc.End();
}

std::unique_ptr<InterruptScope> EndJsonOnSignal(bool json) {
  return json ? std::make_unique<InterruptScope>() : nullptr;
}

std::string DumpJson(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace keyshift
