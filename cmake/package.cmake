# `cpack -G DEB` (run in the build directory): a Debian package of what install.cmake
# installs, under /usr. Library dependencies come from dpkg-shlibdeps (dpkg-dev), so
# they name the exact Debian packages the binary links against; Recommends are what the
# shipped notify plugin (python3), fleet steps (ssh) and --tz / drill schedules (tzdata)
# need, which `runbook doctor` checks.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME runbook)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "runbook maintainers <runbook@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "declarative runbook execution engine for recoveries")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "runbook walks a recovery as a YAML state machine of timed steps with verification\n\
gates, a live RTO clock, approvals, rollbacks and a durable incident timeline that\n\
becomes the post-mortem; the same runbooks run unattended as scored game-day drills.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)
# Install with DESTDIR into the staging area, so that CMAKE_INSTALL_PREFIX is /usr while
# installing (install_late.cmake picks the zsh folder and the units' paths from it).
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES TRUE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")  # postinst: useradd when systemd-sysusers is absent
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "python3, openssh-client, tzdata")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql-client, bash-completion, man-db")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_SOURCE_DIR}/packaging/debian/postinst)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
