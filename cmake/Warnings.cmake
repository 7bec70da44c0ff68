# Project-wide compile options, carried by the INTERFACE target switchboard_options that
# every library and executable links.
add_library(switchboard_options INTERFACE)
target_compile_options(switchboard_options INTERFACE -Wall -Wextra -Wpedantic)
if(SWITCHBOARD_WERROR)
  target_compile_options(switchboard_options INTERFACE -Werror)
endif()
if(SANITIZE)
  # No recovery: a UBSan finding fails the test that triggered it.
  target_compile_options(switchboard_options INTERFACE
    -fsanitize=${SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(switchboard_options INTERFACE -fsanitize=${SANITIZE})
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND SANITIZE MATCHES "undefined")
    # Asio's coroutine frames trip -fsanitize=function ("Cannot represent a difference across sections").
    target_compile_options(switchboard_options INTERFACE -fno-sanitize=function)
  endif()
endif()
