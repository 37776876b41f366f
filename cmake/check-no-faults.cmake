# cmake -DBIN=path -P check-no-faults.cmake: fail when the binary carries the storage fault
# hook (src/store/faults.c), which only test builds (FT_FAULTS=ON) may contain.
file(STRINGS "${BIN}" hits REGEX "ft_faults_|FLOWTRACK_FAULTS" LIMIT_COUNT 1)
if(hits)
    message(FATAL_ERROR "${BIN} contains the storage fault hook (${hits}): build it with -DFT_FAULTS=OFF")
endif()
