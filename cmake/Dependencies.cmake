# Every dependency comes from Debian 12's packages (deploy/install-deps installs them).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(Boost 1.81.0 EXACT CONFIG REQUIRED COMPONENTS system json url)
find_package(yaml-cpp REQUIRED)
find_package(fmt REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(CURL REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED)  # core only: /metrics is served by our own HTTP server
pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx)
pkg_check_modules(GMIME REQUIRED IMPORTED_TARGET gmime-3.0)
pkg_check_modules(PQ REQUIRED IMPORTED_TARGET libpq)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
pkg_check_modules(HUNSPELL REQUIRED IMPORTED_TARGET hunspell)
pkg_check_modules(ICU REQUIRED IMPORTED_TARGET icu-uc icu-i18n)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)  # password hashing (Argon2id)

# libphonenumber: Debian's runtime library with headers unpacked by deploy/install-deps
# (its -dev package cannot be installed beside Boost 1.81; see README "Dependencies").
set(PHONENUMBER_PREFIX "${CMAKE_SOURCE_DIR}/.deps/libphonenumber/usr" CACHE PATH "libphonenumber headers")
if(NOT EXISTS "${PHONENUMBER_PREFIX}/include/phonenumbers/phonenumberutil.h")
  message(FATAL_ERROR "libphonenumber headers not found under ${PHONENUMBER_PREFIX}: run ./deploy/install-deps")
endif()
add_library(phonenumber INTERFACE)
target_include_directories(phonenumber SYSTEM INTERFACE "${PHONENUMBER_PREFIX}/include")
target_link_libraries(phonenumber INTERFACE -l:libphonenumber.so.8 protobuf)
