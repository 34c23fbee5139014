// Implementation lands in the next commit; the header is the contract.
#include <mqtth/client/ClientSession.hpp>
