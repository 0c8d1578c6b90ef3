// Stands in for <lua.h> outside the layers allowed to use it (docs/ARCHITECTURE.md).
#error "Lua (lua_State) is used only in bindings/: go through bindings/migration_script.h"
