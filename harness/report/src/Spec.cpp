#include "mqtth/report/Report.hpp"
