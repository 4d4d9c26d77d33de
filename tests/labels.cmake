# Tests too slow to repeat under the sanitizers (tests/run.sh runs them in the Release
# build only, and the sanitizer build runs every other test): the end-to-end sandbox
# scenarios, the crash test and the drill scenarios, which exercise the same code as the
# faster tests around them many times over; the fleet test (~30 s, mostly sshd's key
# exchanges; the fleet code's logic has unit tests that the sanitizer build runs);
# package_deb installs the .deb into a fresh Debian 12 root (debootstrap, apt): about a
# minute once its cache is warm. The interrupt tests (each runbook cut by SIGINT and resumed, ~70 s each)
# exercise the same engine paths as exec_test_processes and exec_test_lease on a whole sandbox.
# runbook serve in a real browser (Chromium starts in seconds) and with real Prometheus and
# Alertmanager (they take seconds to start and to scrape); the thousand event streams.
foreach(t e2e_test_runbooks_sqlite e2e_test_runbooks_postgres e2e_test_runbooks_unrepaired e2e_test_runbooks_nofault e2e_test_html_report
          e2e_test_protection_sqlite e2e_test_protection_postgres e2e_test_drills_seeds
          e2e_test_runbooks_unrepaired_postgres e2e_test_interrupt_sqlite e2e_test_interrupt_postgres
          exec_test_crash exec_test_drills exec_test_fleet package_deb
          e2e_test_serve_browser e2e_test_serve_alertmanager exec_test_serve_streams)
  if(TEST ${t})
    set_tests_properties(${t} PROPERTIES LABELS heavy)
  endif()
endforeach()
