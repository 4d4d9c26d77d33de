# The version and the commit `runbook --version` names, fixed when the build is
# configured: `git describe --always --dirty` of this source tree, or "unknown" outside a
# git checkout (a tarball, or a tree inside some other repository). Reconfigure
# (`cmake -S . -B build`) to refresh it after new commits.
set(RUNBOOK_COMMIT "unknown")
find_package(Git QUIET)
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --show-toplevel
                  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR} OUTPUT_VARIABLE top RESULT_VARIABLE rc
                  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(rc EQUAL 0 AND top)
    file(REAL_PATH "${top}" top)
    file(REAL_PATH "${CMAKE_SOURCE_DIR}" src)
  endif()
  if(rc EQUAL 0 AND top STREQUAL src)
    execute_process(COMMAND ${GIT_EXECUTABLE} describe --always --dirty --abbrev=12
                    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR} OUTPUT_VARIABLE described RESULT_VARIABLE rc
                    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(rc EQUAL 0 AND described MATCHES "^[A-Za-z0-9._+-]+$")
      set(RUNBOOK_COMMIT "${described}")
    endif()
  endif()
endif()
message(STATUS "runbook ${PROJECT_VERSION}, commit ${RUNBOOK_COMMIT}")

# The shipped external plugins (plugins/bin/runbook-plugin-NAME): installed in
# libexec/runbook/, copied next to the binary in a build tree, checked by `runbook doctor`.
file(GLOB RUNBOOK_SHIPPED_PLUGIN_FILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/plugins/bin/runbook-plugin-*)
set(RUNBOOK_SHIPPED_PLUGIN_NAMES "")
foreach(f ${RUNBOOK_SHIPPED_PLUGIN_FILES})
  get_filename_component(n ${f} NAME)
  string(REPLACE "runbook-plugin-" "" n ${n})
  list(APPEND RUNBOOK_SHIPPED_PLUGIN_NAMES "\"${n}\"")
endforeach()
list(JOIN RUNBOOK_SHIPPED_PLUGIN_NAMES ", " RUNBOOK_SHIPPED_PLUGINS)

# Where the shipped plugins are, relative to the binary once installed ("../libexec/runbook").
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBEXECDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_BINDIR}")
  set(RUNBOOK_LIBEXEC_FROM_BIN "${CMAKE_INSTALL_FULL_LIBEXECDIR}/runbook")
else()
  file(RELATIVE_PATH RUNBOOK_LIBEXEC_FROM_BIN "/p/${CMAKE_INSTALL_BINDIR}" "/p/${CMAKE_INSTALL_LIBEXECDIR}/runbook")
endif()

configure_file(${CMAKE_SOURCE_DIR}/cmake/runbook_build.h.in ${CMAKE_BINARY_DIR}/generated/runbook_build.h @ONLY)
