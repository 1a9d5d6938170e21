// Everything a caller needs: CallMethod / CallRaw, CallTcp / CallJsonTcp, Status and codes, routing (resolvers, etcd, NLB balancer), framing.
#ifndef MSEC_MSEC_H_
#define MSEC_MSEC_H_

#include "msec/balancer.h"
#include "msec/call.h"
#include "msec/color.h"
#include "msec/etcd.h"
#include "msec/frame.h"
#include "msec/route.h"
#include "msec/status.h"
#include "msec/tcp_call.h"
#include "msec/transport.h"

#endif  // MSEC_MSEC_H_
