# check_layering.cmake must catch what it is there to catch: run on a small tree with one
# violation of each kind (and files that are fine), it has to fail and name exactly the bad
# ones. Run by CTest (tst_layering_selftest):
#
#   cmake -DWORK_DIR=<scratch folder> [-DQT_INCLUDE_DIR=<Qt 6 include root>] -P check_layering_selftest.cmake
cmake_minimum_required(VERSION 3.16)

if(NOT WORK_DIR)
  message(FATAL_ERROR "check_layering_selftest: pass -DWORK_DIR=<scratch folder>")
endif()
set(tree "${WORK_DIR}/layering-fixture")
file(REMOVE_RECURSE "${tree}")

function(fixture path)
  string(JOIN "\n" text ${ARGN})
  file(WRITE "${tree}/${path}" "${text}\n")
endfunction()

# Fine: the engine may use LibTorch and QtCore, the GUI QtWidgets and torch-free engine headers.
fixture(core/plain.h "#pragma once" "#include <QString>" "#include <string>")
fixture(core/tensors.h "#pragma once" "#include <torch/torch.h>" "#include \"core/plain.h\"")
fixture(core/uses_tensors.cpp "#include \"core/tensors.h\"" "#include <QByteArray>")
fixture(ui/window.cpp "#include <QWidget>" "#include <QImage>" "#include \"core/plain.h\""
        "// #include <torch/torch.h> in a comment is no include")
# Wrong, one of each kind.
fixture(core/bad_image.cpp "#include <opencv2/core.hpp>" "#include <QImage>")
fixture(core/bad_widgets.h "#pragma once" "  #  include <QtWidgets/QWidget>")
fixture(ui/direct.cpp "#include <ATen/ATen.h>")
fixture(ui/indirect.h "#pragma once" "#include \"core/tensors.h\"")
fixture(ui/cycle_a.h "#pragma once" "#include \"ui/cycle_b.h\"")
fixture(ui/cycle_b.h "#pragma once" "#include \"ui/cycle_a.h\"")

execute_process(
  COMMAND "${CMAKE_COMMAND}" "-DSOURCE_DIR=${tree}" "-DQT_INCLUDE_DIR=${QT_INCLUDE_DIR}"
          -P "${CMAKE_CURRENT_LIST_DIR}/check_layering.cmake"
  RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)

set(problems "")
if(result EQUAL 0)
  list(APPEND problems "the check passed a tree with violations")
endif()
foreach(expected
    "LibTorch in the GUI: ui/direct.cpp -> <ATen/ATen.h>"
    "LibTorch in the GUI: ui/indirect.h -> core/tensors.h -> <torch/torch.h>"
    "QtGui/QtWidgets in the engine: core/bad_image.cpp -> <QImage>"
    "QtGui/QtWidgets in the engine: core/bad_widgets.h -> <QtWidgets/QWidget>"
    "4 layering violation")
  string(FIND "${output}" "${expected}" at)
  if(at EQUAL -1)
    list(APPEND problems "missing: ${expected}")
  endif()
endforeach()
foreach(innocent ui/window.cpp ui/cycle_a.h ui/cycle_b.h core/plain.h core/tensors.h core/uses_tensors.cpp)
  string(FIND "${output}" ": ${innocent} ->" at)  # as the start of a reported chain
  if(NOT at EQUAL -1)
    list(APPEND problems "wrongly reported: ${innocent}")
  endif()
endforeach()

if(problems)
  string(JOIN "\n  " problems_text ${problems})
  message(FATAL_ERROR "check_layering.cmake misjudged the fixture:\n  ${problems_text}\nIts output:\n${output}")
endif()
file(REMOVE_RECURSE "${tree}")
message(STATUS "check_layering.cmake finds each kind of violation and nothing else")
