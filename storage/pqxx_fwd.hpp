// Forward declaration of libpqxx 6's connection type, so that public storage headers need not
// include <pqxx/pqxx>. libpqxx 6 names it with an alias of a class template ("class connection;"
// would clash with <pqxx/pqxx>): declared exactly as <pqxx/connection.hxx> does.
#pragma once

namespace pqxx {
class connect_direct;
template <typename ConnectPolicy>
class basic_connection_base;
using connection = basic_connection_base<connect_direct>;
}  // namespace pqxx
