# keyshift_layer(<name> [LAYERS l...] [LIBS t...] [FORBID g...] [EXTRA_SOURCES f...])
# One static library per folder, keyshift_<name>, from <name>/*.cc.
#
# Its headers are reachable as "<name>/x.h" only through an include root of
# its own (build/layers/<name>/<name> -> the source folder), not the source
# root: so a library can include a layer's headers only if it links that
# layer. Every link is PRIVATE: nothing reaches a dependent through another
# layer, and third-party headers stay with the layer that owns them.
# FORBID puts stand-ins first on the include path for system headers that
# need no -I (hiredis, CLI11, OpenSSL live in /usr/include): including one
# outside its layer is an #error naming the layer to go through.
function(keyshift_layer name)
  cmake_parse_arguments(L "" "" "LAYERS;LIBS;FORBID;EXTRA_SOURCES" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  set(target keyshift_${name})
  add_library(${target} STATIC ${sources} ${L_EXTRA_SOURCES})
  set(root ${CMAKE_BINARY_DIR}/layers/${name})
  file(MAKE_DIRECTORY ${root})
  file(CREATE_LINK ${CMAKE_CURRENT_SOURCE_DIR} ${root}/${name} SYMBOLIC)
  target_include_directories(${target} PUBLIC ${root})
  foreach(group ${L_FORBID})
    target_include_directories(${target} BEFORE PRIVATE ${CMAKE_SOURCE_DIR}/cmake/forbidden/${group})
  endforeach()
  foreach(layer ${L_LAYERS})
    target_link_libraries(${target} PRIVATE keyshift_${layer})
  endforeach()
  target_link_libraries(${target} PRIVATE ${L_LIBS})
endfunction()

# Every layer, top first: what the executable and the tests link.
set(KEYSHIFT_LAYERS keyshift_cli keyshift_engine keyshift_server_mode keyshift_bindings keyshift_redis keyshift_core)
