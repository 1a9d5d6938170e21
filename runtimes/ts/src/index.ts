/**
 * Public surface of the msec-gen runtime (`@msec-gen/runtime`).
 * Append new exports at the end; one line per module.
 */
export type { CallContext, MethodDefinition, MethodRegistry, RequestBody, ResponseBody, WireFormat } from "./handler.js";
export { SrpcCode, SrpcError, errorText } from "./errors.js";
export { type RpcHead, type RpcHeadChanges, RpcHeadField, amendRpcHead, decodeRpcHead, encodeRpcHead, newSequence } from "./rpc-head.js";
export { type DecodedFrame, type FrameDecoderOptions, DEFAULT_MAX_FRAME_BYTES, FRAME_ETX, FRAME_HEAD_OFFSET, FRAME_OVERHEAD, FRAME_STX, FrameDecoder, FrameStreamError, checkFrame, decodeFrame, encodeFrame } from "./frame.js";
export { colorId, defaultFlowId } from "./color.js";
export { type Config, DEFAULT_CONFIG_PATH, getConfig, loadConfig, parseConfig } from "./config.js";
export { type ColorRule, type LogFieldValue, type LogLevel, type Logger, type LoggerOptions, ConfigError, DEFAULT_LOG_LEVEL, LOG_LEVELS, MAX_COLOR_RULES, createLogger, logOptionsFromConfig, parseLogLevel } from "./log.js";
export { type MetricLabels, ATTR_COUNTER, ATTR_GAUGE, DEFAULT_BUCKETS, DURATION_BUCKETS, HistogramSeries, Metrics, attrReport, attrSet, metricName, metrics, monitorAdd, monitorSet, renderMetrics } from "./monitor.js";
export { type Server, type ServerOptions, DEFAULT_DRAIN_TIMEOUT_MS, DEFAULT_HOST, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_IN_FLIGHT_PER_CONNECTION, DEFAULT_MAX_PENDING_OUTPUT_BYTES, DEFAULT_MAX_UDP_IN_FLIGHT, DEFAULT_PORT, DEFAULT_REQUEST_TIMEOUT_MS, FD_RESERVE, createServer } from "./server/server.js";
export { type ListenSpec, type StartServerOptions, parseListen, serverOptionsFromConfig, startServer } from "./server/start-server.js";
export { parseWorkers } from "./server/workers.js";
export { aggregateMetrics } from "./server/metrics-aggregate.js";
export { type HttpParserLimits, type HttpRequest, DEFAULT_MAX_HTTP_HEADER_BYTES, HttpParseError, HttpRequestParser } from "./server/http-request.js";
export { janssonJson, jsonEnvelope } from "./server/json-envelope.js";
export { type BalancerOptions, type Resolver, type Route, type RouteInstance, type RouteType, type RoutesFileResolverOptions, type ServerWeight, BALANCE_PERIOD_MS, Balancer, DEFAULT_ROUTES_FILE, DEFAULT_WEIGHT, ROUTES_ENV, ROUTES_RECHECK_MS, RoutesFileError, SHAPING_REQUEST_MIN, createRoutesFileResolver, createStaticResolver, currentBalancer, defaultRoutesPath, getRoute, parseLiteral, parseRoutes, registerResolver, resolveInstances, routeAddress, setBalancer, setRoutesFileResolver, unregisterResolver, updateRoute } from "./route/index.js";
export { type CallErrorFacts, SrpcCallError } from "./client/call-error.js";
export { type CallOptions, DEFAULT_CALLER, DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS, SERVICE_NAME_ENV, callerName, setDefaultCaller, withDefaults } from "./client/call-options.js";
export { type IsComplete, type TcpCallOptions, callTcp } from "./tcp.js";
export { JSON_TCP_PREFIX_BYTES, callJsonTcp, checkJsonTcp, decodeJsonTcp, encodeJsonTcp } from "./json-tcp.js";
export { type ClientOptions, DEFAULT_POOL_SIZE, closeConnections, configureClient, openConnections } from "./client/connection-pool.js";
export { callMethod, callMethodRaw } from "./client/call-method.js";
export { findMethod, registerTypes } from "./client/type-registry.js";
export { MAX_UDP_FRAME_BYTES } from "./client/udp-call.js";
export { type EtcdEvent, type EtcdKeyValue, ETCD_REQUEST_TIMEOUT_MS, EtcdGateway, EtcdResponseError, EtcdUnreachableError, parseEndpoints } from "./etcd/gateway.js";
export { type EtcdInstance, DEFAULT_ETCD_PREFIX, DEFAULT_ETCD_WEIGHT, checkServiceName, formatInstanceValue, instanceAddress, instanceKey, parseInstanceAddress, parseInstanceKey, parseInstanceValue, servicePrefix, servicesPrefix } from "./etcd/key-layout.js";
export { type EtcdResolver, type EtcdResolverOptions, ETCD_FIRST_LOAD_WAIT_MS, ETCD_RETRY_MS, createEtcdResolver } from "./route/etcd/etcd-resolver.js";
export { type EtcdRegistration, type EtcdRegistrationOptions, DEFAULT_ETCD_TTL_SECONDS, registerInEtcd } from "./route/etcd/registration.js";
export { type EtcdSettings, ETCD_ENDPOINTS_ENV, ETCD_PREFIX_ENV, advertisedIp, etcdSettingsFromConfig } from "./route/etcd/etcd-config.js";
export { REFUSED_HOLD_MS, reportRefused } from "./route/index.js";
export { type ConfiguredEtcdOptions, type ConfiguredEtcdResolver, createConfiguredEtcdResolver, setConfiguredEtcdResolver } from "./route/index.js";
export { MAX_JSON_DEPTH, MAX_MESSAGE_DEPTH, decodeRequest, missingRequiredField } from "./request-decoding.js";
export { DeadlineExceededError, TIMEOUT_HEADER, deadlineExceededMessage } from "./server/call-deadline.js";
