# The layers keep to their libraries (DESIGN.md): the interface in ui/ never sees LibTorch,
# the engine in core/ never sees QtGui or QtWidgets. Run by CTest (tst_layering):
#
#   cmake -DSOURCE_DIR=<source tree> [-DQT_INCLUDE_DIR=<Qt 6 include root>] -P check_layering.cmake
#
# It fails, naming each file and the include chain, when
#  - a file in ui/ includes a LibTorch header (torch/, ATen/, c10/, caffe2/), itself or through
#    the project headers it includes ("core/.../x.h" that includes one counts too: the GUI
#    would compile against LibTorch all the same);
#  - a file in core/ includes a QtGui or QtWidgets header: <QtGui/...>, <QtWidgets/...>, or a
#    class header of those modules such as <QImage>, <QPixmap> or <QWidget> (looked up in
#    QT_INCLUDE_DIR; without it, a list of the common ones).
# Reading the sources is enough: no build is needed, and the message says which line to change.
cmake_minimum_required(VERSION 3.16)

if(NOT SOURCE_DIR OR NOT IS_DIRECTORY "${SOURCE_DIR}")
  message(FATAL_ERROR "check_layering: pass -DSOURCE_DIR=<source tree>")
endif()
get_filename_component(SOURCE_DIR "${SOURCE_DIR}" REALPATH)

set(LIBTORCH_INCLUDE "^(torch|ATen|c10|caffe2)/")
set(GUI_MODULE_INCLUDE "^(QtGui|QtWidgets)/")
# Used only when the Qt headers cannot be looked up.
set(GUI_CLASS_FALLBACK
    "^(QImage|QImageReader|QImageWriter|QPixmap|QBitmap|QIcon|QPainter|QPainterPath|QColor|QFont|QPen|QBrush|QGuiApplication|QApplication|QWidget|QMainWindow|QDialog|QLabel|QPushButton|QAction|QKeySequence|QScreen|QWindow)$")

# The names a file includes, as written between <> or "".
function(included_names file out_var)
  file(STRINGS "${file}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
  set(names "")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]+)[>\"].*$" "\\1" name "${line}")
    list(APPEND names "${name}")
  endforeach()
  set(${out_var} "${names}" PARENT_SCOPE)
endfunction()

# A quoted include as a file of the tree: from the tree's root (how the project spells its
# includes) or beside the including file; empty when it is not in the tree.
function(resolve_project_include name including_file out_var)
  get_filename_component(dir "${including_file}" DIRECTORY)
  foreach(candidate "${SOURCE_DIR}/${name}" "${dir}/${name}")
    if(EXISTS "${candidate}" AND NOT IS_DIRECTORY "${candidate}")
      get_filename_component(candidate "${candidate}" REALPATH)
      set(${out_var} "${candidate}" PARENT_SCOPE)
      return()
    endif()
  endforeach()
  set(${out_var} "" PARENT_SCOPE)
endfunction()

# The path from the tree's root, for messages.
function(relative_name file out_var)
  file(RELATIVE_PATH rel "${SOURCE_DIR}" "${file}")
  set(${out_var} "${rel}" PARENT_SCOPE)
endfunction()

# "ui/a.cpp -> core/b.h -> <torch/torch.h>" when `file` reaches a LibTorch header, else
# empty. Each file is worked out once (a global property per file; "-" = clean or in progress,
# which also ends include cycles).
function(libtorch_chain file out_var)
  string(MD5 key "${file}")
  get_property(known GLOBAL PROPERTY "layering_${key}" SET)
  if(known)
    get_property(chain GLOBAL PROPERTY "layering_${key}")
    if(chain STREQUAL "-")
      set(chain "")
    endif()
    set(${out_var} "${chain}" PARENT_SCOPE)
    return()
  endif()
  set_property(GLOBAL PROPERTY "layering_${key}" "-")
  relative_name("${file}" me)
  included_names("${file}" names)
  set(chain "")
  foreach(name IN LISTS names)
    if(name MATCHES "${LIBTORCH_INCLUDE}")
      set(chain "${me} -> <${name}>")
      break()
    endif()
    resolve_project_include("${name}" "${file}" header)
    if(header)
      libtorch_chain("${header}" rest)
      if(rest)
        set(chain "${me} -> ${rest}")
        break()
      endif()
    endif()
  endforeach()
  if(chain)
    set_property(GLOBAL PROPERTY "layering_${key}" "${chain}")
  endif()
  set(${out_var} "${chain}" PARENT_SCOPE)
endfunction()

function(is_gui_header name out_var)
  set(result FALSE)
  if(name MATCHES "${GUI_MODULE_INCLUDE}")
    set(result TRUE)
  elseif(name MATCHES "^Q[A-Za-z0-9]+$")
    if(QT_INCLUDE_DIR AND IS_DIRECTORY "${QT_INCLUDE_DIR}/QtGui")
      if(EXISTS "${QT_INCLUDE_DIR}/QtGui/${name}" OR EXISTS "${QT_INCLUDE_DIR}/QtWidgets/${name}")
        set(result TRUE)
      endif()
    elseif(name MATCHES "${GUI_CLASS_FALLBACK}")
      set(result TRUE)
    endif()
  endif()
  set(${out_var} ${result} PARENT_SCOPE)
endfunction()

set(violations "")

file(GLOB_RECURSE ui_files LIST_DIRECTORIES false "${SOURCE_DIR}/ui/*.h" "${SOURCE_DIR}/ui/*.cpp")
list(SORT ui_files)
foreach(file IN LISTS ui_files)
  get_filename_component(file "${file}" REALPATH)
  libtorch_chain("${file}" chain)
  if(chain)
    list(APPEND violations "LibTorch in the GUI: ${chain}")
  endif()
endforeach()

file(GLOB_RECURSE core_files LIST_DIRECTORIES false "${SOURCE_DIR}/core/*.h" "${SOURCE_DIR}/core/*.cpp")
list(SORT core_files)
foreach(file IN LISTS core_files)
  relative_name("${file}" me)
  included_names("${file}" names)
  foreach(name IN LISTS names)
    is_gui_header("${name}" gui)
    if(gui)
      list(APPEND violations "QtGui/QtWidgets in the engine: ${me} -> <${name}>")
    endif()
  endforeach()
endforeach()

list(LENGTH ui_files ui_count)
list(LENGTH core_files core_count)
if(violations)
  foreach(violation IN LISTS violations)
    message(NOTICE "${violation}")
  endforeach()
  list(LENGTH violations count)
  message(FATAL_ERROR "${count} layering violation(s): ui/ must stay free of LibTorch and core/ "
                      "of QtGui and QtWidgets (see DESIGN.md)")
endif()
message(STATUS "layering: ${ui_count} files in ui/ without LibTorch, ${core_count} in core/ without QtGui or QtWidgets")
