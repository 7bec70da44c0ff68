// Boost.Beast compiled once for the whole program (BOOST_BEAST_SEPARATE_COMPILATION), for the
// same reason as asio_impl.cpp: server.cpp then only instantiates what it uses.
#include <boost/beast/src.hpp>
