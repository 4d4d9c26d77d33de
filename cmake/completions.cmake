# cmake -DBIN=build/runbook -DOUT=DIR -P cmake/completions.cmake: writes the completion
# scripts `runbook completion SHELL` prints (bash: runbook, zsh: _runbook, fish: runbook.fish).
file(MAKE_DIRECTORY ${OUT})
foreach(pair "bash=runbook" "zsh=_runbook" "fish=runbook.fish")
  string(REPLACE "=" ";" pair ${pair})
  list(GET pair 0 shell)
  list(GET pair 1 name)
  execute_process(COMMAND ${BIN} completion ${shell} OUTPUT_FILE ${OUT}/${name} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${BIN} completion ${shell} failed (${rc})")
  endif()
endforeach()
