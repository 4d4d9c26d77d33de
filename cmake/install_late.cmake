# Part of `cmake --install` (see install.cmake): what depends on the install-time prefix.
# CMAKE_INSTALL_PREFIX is the prefix being installed to; file(INSTALL) adds $DESTDIR.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(zsh_dir "${RUNBOOK_DATADIR}/zsh/vendor-completions")  # in Debian's zsh $fpath
else()
  set(zsh_dir "${RUNBOOK_DATADIR}/zsh/site-functions")
endif()
file(INSTALL "${RUNBOOK_GEN}/completions/_runbook" DESTINATION "${CMAKE_INSTALL_PREFIX}/${zsh_dir}")

set(BINDIR "${CMAKE_INSTALL_PREFIX}/${RUNBOOK_BINDIR}")
set(units "${RUNBOOK_GEN}/systemd")
file(MAKE_DIRECTORY "${units}")
foreach(unit runbook-serve.service runbook-drills.service runbook-drills.timer)
  configure_file("${RUNBOOK_SRC}/packaging/systemd/${unit}.in" "${units}/${unit}" @ONLY)
  file(INSTALL "${units}/${unit}" DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endforeach()
file(INSTALL "${RUNBOOK_SRC}/packaging/systemd/runbook.sysusers" DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/sysusers.d"
     RENAME runbook.conf FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
