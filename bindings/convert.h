// Redis values <-> Lua values (SPEC 2). Into Lua: string -> string; hash ->
// table field->string; list -> array; set -> array sorted bytewise; zset ->
// table member->score (number). Out of Lua: the runner's normalised flat
// arrays of strings (stdlib/runner.lua) -> Value.
#pragma once

#include <string>

#include "core/result.h"
#include "core/value.h"

struct lua_State;

namespace keyshift {

// Pushes `value` as a new Lua value. Raises a Lua memory error if the
// sandbox's cap is reached, so call it only inside a protected call or
// accept that the state is then unusable.
void PushValue(lua_State* L, const Value& value);

// Reads the flat array at `index` (as returned by runner.normalize) into a
// Value of type `type`.
Value FlatToValue(lua_State* L, int index, KeyType type);

// Zset scores as Lua reads them: "inf", "-inf" and numbers.
double ScoreToNumber(const std::string& text);

}  // namespace keyshift
