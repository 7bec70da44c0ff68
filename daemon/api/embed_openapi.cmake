# Writes a C++ file holding daemon/api/openapi.yaml, served at GET /api/v1/openapi.yaml.
file(READ ${IN} yaml)
file(WRITE ${OUT} "// Generated from daemon/api/openapi.yaml; do not edit.\n#include \"daemon/api/rest_api.hpp\"\n\nnamespace switchboard::daemon {\n\nstd::string_view openapi_yaml() {\n  static constexpr std::string_view text = R\"sbyaml(${yaml})sbyaml\";\n  return text;\n}\n\n}  // namespace switchboard::daemon\n")
