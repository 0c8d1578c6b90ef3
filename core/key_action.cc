#include "core/key_action.h"

#include "core/enum_words.h"

namespace keyshift {

namespace {

constexpr EnumWord<KeyAction> kCodes[] = {{KeyAction::kKeep, "K"},
                                          {KeyAction::kRewrite, "W"},
                                          {KeyAction::kDelete, "D"},
                                          {KeyAction::kRename, "R"},
                                          {KeyAction::kCreate, "C"}};

}  // namespace

const char* KeyActionCode(KeyAction action) { return WordOf(kCodes, action); }

Result<KeyAction> ParseKeyActionCode(std::string_view code) { return ParseWord(kCodes, code, "key action code"); }

}  // namespace keyshift
