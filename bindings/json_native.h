// The native JSON fast path of json.lua in host mode (json_native.cc decodes,
// json_native_encode.cc encodes); registered by AddNativeJson (boundary.h).
#pragma once

struct lua_State;

namespace keyshift {

// encode(table), upvalues (meta, null, box_texts): the JSON
// text json.lua's encoder would write, or nothing when it does not handle
// the value (json.lua then encodes it, or raises its error).
int JsonEncodeCommonCase(lua_State* L);

}  // namespace keyshift
