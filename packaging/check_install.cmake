# Installs the build into a fresh prefix and checks that the installed command-line tool reads
# its resources from <prefix>/share/latentstudio, not from the source tree it was built from.
#   cmake -DBUILD_DIR=<build> -DPREFIX=<empty folder to use> -P check_install.cmake
file(REMOVE_RECURSE "${PREFIX}")
execute_process(COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}"
                RESULT_VARIABLE result OUTPUT_QUIET)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "cmake --install ${BUILD_DIR} --prefix ${PREFIX} failed")
endif()
foreach(installed bin/latentstudio-cli share/latentstudio/tokenizer/vocab.json
                  share/latentstudio/tokenizer/merges.txt share/latentstudio/sd15/unet/config.json
                  share/latentstudio/sdxl_base/unet/config.json share/latentstudio/sdxl_refiner/unet/config.json
                  share/latentstudio/sd2_base/unet/config.json share/latentstudio/sd21_768/unet/config.json
                  share/latentstudio/tokenizer_2/vocab.json share/latentstudio/tokenizer_2/merges.txt)
  if(NOT EXISTS "${PREFIX}/${installed}")
    message(FATAL_ERROR "the install lacks ${installed}")
  endif()
endforeach()
execute_process(COMMAND "${PREFIX}/bin/latentstudio-cli" --version
                RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE errors)
file(REAL_PATH "${PREFIX}/share/latentstudio" expected)
if(NOT result EQUAL 0 OR NOT output MATCHES "resources: ${expected}\n")
  message(FATAL_ERROR "the installed latentstudio-cli --version printed:\n${output}${errors}"
                      "expected it to read its resources from ${expected}")
endif()
file(REMOVE_RECURSE "${PREFIX}")
message(STATUS "installed to ${PREFIX}: resources read from ${expected}")
