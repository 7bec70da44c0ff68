// Boost.Asio compiled once for the whole program (BOOST_ASIO_SEPARATE_COMPILATION): every other
// TU that includes Asio gets declarations only, which keeps the heavy template code out of them.
#include <boost/asio/impl/src.hpp>
