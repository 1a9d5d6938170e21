package msec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/connectivity"
)

// Routing on etcd (docs/routing-etcd.md), the same key layout and resolver
// behaviour as the TypeScript and Python runtimes:
//
//	<prefix>/services/<Group.Service>/<ip:port>  →  {"ip":"10.0.0.2","port":7963,"protocol":"tcp","weight":100}
//
// An EtcdResolver reads every key under <prefix>/services/ once, then follows
// a prefix watch; Resolve answers from that local cache (no etcd round trip
// per call). While etcd is unreachable the cached routes keep serving.
const (
	// EtcdEndpointsEnv names the environment variable with the etcd client
	// URLs (comma-separated); it wins over "[ROUTE] etcd" in etc/config.ini.
	EtcdEndpointsEnv = "MSEC_ETCD_ENDPOINTS"
	// EtcdPrefixEnv names the environment variable with the key prefix; it
	// wins over "[ROUTE] etcd_prefix".
	EtcdPrefixEnv = "MSEC_ETCD_PREFIX"
	// DefaultEtcdPrefix is the key prefix of one msec instance.
	DefaultEtcdPrefix = "/msec"
	// EtcdRetry is the pause before reading etcd again after a failed read.
	EtcdRetry = 250 * time.Millisecond
	// EtcdFirstLoadWait bounds how long the first Resolve waits for the first
	// read of etcd (or its failure) before answering from an empty cache.
	EtcdFirstLoadWait = 3 * time.Second
	// EtcdRequestTimeout bounds each read of etcd.
	EtcdRequestTimeout = 2 * time.Second
)

var endpointPattern = regexp.MustCompile(`^https?://[^/\s]+$`)

// ParseEtcdEndpoints splits comma-separated etcd client URLs
// (http://host:port), as the TypeScript runtime's parseEndpoints does.
func ParseEtcdEndpoints(text string) ([]string, error) {
	var endpoints []string
	for _, e := range strings.Split(text, ",") {
		e = strings.TrimRight(strings.TrimSpace(e), "/")
		if e == "" {
			continue
		}
		if !endpointPattern.MatchString(e) {
			return nil, fmt.Errorf("invalid etcd endpoint %q (expected http://host:port)", e)
		}
		endpoints = append(endpoints, e)
	}
	if len(endpoints) == 0 {
		return nil, errors.New("no etcd endpoints given")
	}
	return endpoints, nil
}

// EtcdServicesPrefix is "<prefix>/services/", the folder every service lives under.
func EtcdServicesPrefix(prefix string) string {
	return strings.TrimRight(prefix, "/") + "/services/"
}

// EtcdInstance is the JSON value stored for one instance.
type EtcdInstance struct {
	IP       string `json:"ip"`
	Port     int    `json:"port"`
	Protocol string `json:"protocol"`
	Weight   int64  `json:"weight"`
}

// ParseEtcdInstance parses a stored value; the error says why it is not a
// valid instance (the TypeScript runtime's rules: ip a non-empty string, port
// 1..65535, protocol "tcp" (default) or "udp", weight an integer > 0, default 100).
func ParseEtcdInstance(text []byte) (EtcdInstance, error) {
	var v map[string]any
	if err := json.Unmarshal(text, &v); err != nil {
		return EtcdInstance{}, fmt.Errorf("not a JSON object: %v", err)
	}
	ip, ok := v["ip"].(string)
	if !ok || ip == "" {
		return EtcdInstance{}, errors.New("ip must be a non-empty string")
	}
	port, ok := v["port"].(float64)
	if !ok || port != math.Trunc(port) || port < 1 || port > 65535 {
		return EtcdInstance{}, errors.New("port must be 1..65535")
	}
	protocol := "tcp"
	if p, present := v["protocol"]; present {
		if s, _ := p.(string); s == "tcp" || s == "udp" {
			protocol = s
		} else {
			return EtcdInstance{}, errors.New(`protocol must be "tcp" or "udp"`)
		}
	}
	weight := float64(DefaultWeight)
	if w, present := v["weight"]; present {
		f, ok := w.(float64)
		if !ok || f != math.Trunc(f) || f <= 0 || f > maxSafeWeight {
			return EtcdInstance{}, errors.New("weight must be an integer > 0")
		}
		weight = f
	}
	return EtcdInstance{IP: ip, Port: int(port), Protocol: protocol, Weight: int64(weight)}, nil
}

// parseEtcdKey splits a key under EtcdServicesPrefix(prefix) into service and address.
func parseEtcdKey(prefix, key string) (service, address string, ok bool) {
	root := EtcdServicesPrefix(prefix)
	rest, found := strings.CutPrefix(key, root)
	if !found {
		return "", "", false
	}
	slash := strings.IndexByte(rest, '/')
	if slash <= 0 || slash == len(rest)-1 {
		return "", "", false
	}
	return rest[:slash], rest[slash+1:], true
}

// EtcdResolverOptions configure NewEtcdResolver.
type EtcdResolverOptions struct {
	// Endpoints are etcd client URLs, e.g. http://127.0.0.1:2379.
	Endpoints []string
	// Prefix is the key prefix of this msec instance; default DefaultEtcdPrefix.
	Prefix string
	// OnInvalid receives malformed values found under the prefix (they are skipped).
	OnInvalid func(key, reason string)
}

// serviceCache is one service's instances in the order etcd listed or added them.
type serviceCache struct {
	order     []string
	instances map[string]RouteInstance
}

// EtcdResolver is a Resolver fed by an etcd watch. Close stops it.
type EtcdResolver struct {
	opts      EtcdResolverOptions
	prefix    string
	client    *clientv3.Client
	stop      context.CancelFunc
	stopCtx   context.Context
	firstTry  chan struct{}
	ready     chan struct{}
	done      chan struct{}
	mu        sync.Mutex
	cache     map[string]*serviceCache
	loaded    bool
	watching  bool
	lastError string
}

// NewEtcdResolver starts a resolver: it reads etcd in the background and
// keeps following it until Close.
func NewEtcdResolver(opts EtcdResolverOptions) (*EtcdResolver, error) {
	if len(opts.Endpoints) == 0 {
		return nil, errors.New("no etcd endpoints given")
	}
	prefix := opts.Prefix
	if prefix == "" {
		prefix = DefaultEtcdPrefix
	}
	client, err := clientv3.New(clientv3.Config{
		Endpoints: opts.Endpoints,
		// etcd's client logs every retry at warning level; the resolver reports
		// its state through Describe, Connected and LastError instead.
		Logger: zap.NewNop(),
		// Reconnect within seconds when etcd comes back (gRPC's default backoff grows to 2 minutes).
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: EtcdRetry, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
			MinConnectTimeout: EtcdRequestTimeout,
		})},
	})
	if err != nil {
		return nil, fmt.Errorf("etcd client for %s: %w", strings.Join(opts.Endpoints, ","), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &EtcdResolver{
		opts: opts, prefix: prefix, client: client, stop: cancel, stopCtx: ctx,
		firstTry: make(chan struct{}), ready: make(chan struct{}), done: make(chan struct{}),
		cache: map[string]*serviceCache{},
	}
	go r.run()
	return r, nil
}

// Ready is closed after the first successful read of etcd.
func (r *EtcdResolver) Ready() <-chan struct{} {
	return r.ready
}

// Connected reports whether the watch is established and etcd reachable.
func (r *EtcdResolver) Connected() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.watching && r.client.ActiveConnection().GetState() != connectivity.TransientFailure
}

// LastError is why etcd is not being followed now; "" while connected.
func (r *EtcdResolver) LastError() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.unreachableLocked()
}

func (r *EtcdResolver) unreachableLocked() string {
	if !r.watching {
		return r.lastError
	}
	if state := r.client.ActiveConnection().GetState(); state == connectivity.TransientFailure {
		return "etcd unreachable (connection " + state.String() + ")"
	}
	return ""
}

// Snapshot returns every cached service and its instances.
func (r *EtcdResolver) Snapshot() map[string][]RouteInstance {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]RouteInstance{}
	for name, svc := range r.cache {
		out[name] = svc.list()
	}
	return out
}

func (s *serviceCache) list() []RouteInstance {
	out := make([]RouteInstance, len(s.order))
	for i, a := range s.order {
		out[i] = s.instances[a]
	}
	return out
}

// Resolve answers from the cache; the first call waits for the first read
// of etcd (at most EtcdFirstLoadWait). Unknown names return nil.
func (r *EtcdResolver) Resolve(ctx context.Context, service string) ([]RouteInstance, error) {
	r.mu.Lock()
	loaded := r.loaded
	r.mu.Unlock()
	if !loaded {
		timer := time.NewTimer(EtcdFirstLoadWait)
		select {
		case <-r.firstTry:
		case <-timer.C:
		case <-ctx.Done():
		}
		timer.Stop()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if svc := r.cache[service]; svc != nil {
		return svc.list(), nil
	}
	return nil, nil
}

// Describe says where the resolver looks and, when etcd is unreachable, why.
func (r *EtcdResolver) Describe() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	where := fmt.Sprintf("etcd %s prefix %s", strings.Join(r.opts.Endpoints, ","), r.prefix)
	if why := r.unreachableLocked(); why != "" {
		cached := "; no routes cached"
		if r.loaded {
			cached = "; serving cached routes"
		}
		where += " (unreachable: " + why + cached + ")"
	}
	return where
}

// Close stops following etcd; the cache stays as it was.
func (r *EtcdResolver) Close() {
	r.stop()
	<-r.done
	r.client.Close()
}

func (r *EtcdResolver) applyLocked(deleted bool, key string, value []byte) {
	service, address, ok := parseEtcdKey(r.prefix, key)
	if !ok {
		return
	}
	svc := r.cache[service]
	remove := func() {
		if svc == nil {
			return
		}
		if _, had := svc.instances[address]; had {
			delete(svc.instances, address)
			for i, a := range svc.order {
				if a == address {
					svc.order = append(svc.order[:i:i], svc.order[i+1:]...)
					break
				}
			}
		}
		if len(svc.order) == 0 {
			delete(r.cache, service)
		}
	}
	if deleted {
		remove()
		return
	}
	inst, err := ParseEtcdInstance(value)
	if err != nil {
		if r.opts.OnInvalid != nil {
			r.opts.OnInvalid(key, err.Error())
		}
		remove()
		return
	}
	if svc == nil {
		svc = &serviceCache{instances: map[string]RouteInstance{}}
		r.cache[service] = svc
	}
	if _, had := svc.instances[address]; !had {
		svc.order = append(svc.order, address)
	}
	svc.instances[address] = RouteInstance{Route: Route{IP: inst.IP, Port: inst.Port, Network: inst.Protocol}, Weight: inst.Weight}
}

// run reads the prefix, then follows the watch; after a failure it reads
// again (every EtcdRetry while etcd does not answer).
func (r *EtcdResolver) run() {
	defer close(r.done)
	root := EtcdServicesPrefix(r.prefix)
	triedOnce := false
	for r.stopCtx.Err() == nil {
		revision, err := r.load(root)
		if err != nil {
			// Recorded before firstTry is closed, so the first Resolve's -15
			// message already says why etcd could not be read.
			r.mu.Lock()
			r.lastError = err.Error()
			r.mu.Unlock()
		}
		if !triedOnce {
			triedOnce = true
			close(r.firstTry)
		}
		if err == nil {
			err = r.watch(root, revision)
		}
		if r.stopCtx.Err() != nil {
			return
		}
		r.mu.Lock()
		wasWatching := r.watching
		r.watching = false
		r.lastError = err.Error()
		if wasWatching {
			r.lastError = "etcd watch stream broke: " + r.lastError
		}
		r.mu.Unlock()
		if wasWatching {
			continue
		}
		select {
		case <-time.After(EtcdRetry):
		case <-r.stopCtx.Done():
			return
		}
	}
}

func (r *EtcdResolver) load(root string) (int64, error) {
	ctx, cancel := context.WithTimeout(r.stopCtx, EtcdRequestTimeout)
	defer cancel()
	resp, err := r.client.Get(ctx, root, clientv3.WithPrefix())
	if err != nil {
		return 0, fmt.Errorf("etcd unreachable (%s: %v)", strings.Join(r.opts.Endpoints, ","), err)
	}
	r.mu.Lock()
	r.cache = map[string]*serviceCache{}
	for _, kv := range resp.Kvs {
		r.applyLocked(false, string(kv.Key), kv.Value)
	}
	first := !r.loaded
	r.loaded = true
	// Connected from here: the watch starts from this read's revision, and
	// the first Resolve (released when this returns) already sees it.
	r.watching, r.lastError = true, ""
	r.mu.Unlock()
	if first {
		close(r.ready)
	}
	return resp.Header.Revision, nil
}

// watch follows root from revision+1 until the stream ends or fails.
func (r *EtcdResolver) watch(root string, revision int64) error {
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(r.stopCtx))
	defer cancel()
	r.mu.Lock()
	r.watching, r.lastError = true, ""
	r.mu.Unlock()
	for resp := range r.client.Watch(ctx, root, clientv3.WithPrefix(), clientv3.WithRev(revision+1)) {
		if err := resp.Err(); err != nil {
			return err
		}
		r.mu.Lock()
		for _, e := range resp.Events {
			r.applyLocked(e.Type == clientv3.EventTypeDelete, string(e.Kv.Key), e.Kv.Value)
		}
		r.mu.Unlock()
	}
	return errors.New("closed by etcd")
}

// EtcdSettings are the etcd endpoints and prefix a process routes through.
type EtcdSettings struct {
	Endpoints []string
	Prefix    string
}

// EtcdSettingsFromEnv reads $MSEC_ETCD_ENDPOINTS (else "[ROUTE] etcd" in
// configFile) and $MSEC_ETCD_PREFIX (else "[ROUTE] etcd_prefix", else
// /msec). ok is false when no endpoints are configured.
func EtcdSettingsFromEnv(configFile string) (settings EtcdSettings, ok bool, err error) {
	text, where := os.Getenv(EtcdEndpointsEnv), "$"+EtcdEndpointsEnv
	if text == "" {
		text, where = configValue(configFile, "ROUTE", "etcd"), configFile+" [ROUTE] etcd"
	}
	if strings.TrimSpace(text) == "" {
		return EtcdSettings{}, false, nil
	}
	endpoints, err := ParseEtcdEndpoints(text)
	if err != nil {
		return EtcdSettings{}, true, fmt.Errorf("%s: %w", where, err)
	}
	prefix := os.Getenv(EtcdPrefixEnv)
	if prefix == "" {
		prefix = configValue(configFile, "ROUTE", "etcd_prefix")
	}
	if prefix == "" {
		prefix = DefaultEtcdPrefix
	}
	return EtcdSettings{Endpoints: endpoints, Prefix: prefix}, true, nil
}

// failedResolver stands in for an etcd resolver whose settings are invalid:
// every lookup fails with the reason.
type failedResolver struct{ err error }

func (f failedResolver) Resolve(context.Context, string) ([]RouteInstance, error) { return nil, f.err }
func (f failedResolver) Describe() string                                         { return "etcd (" + f.err.Error() + ")" }

// The etcd resolver configured from the environment / etc/config.ini,
// started at the first lookup of a routing name. The settings are checked
// again at most every RoutesRecheck; when they change, the old resolver is
// closed and a new one started.
var configured struct {
	mu        sync.Mutex
	checkedAt time.Time
	key       string
	resolver  Resolver
}

func configuredEtcd() Resolver {
	configured.mu.Lock()
	defer configured.mu.Unlock()
	now := time.Now()
	if !configured.checkedAt.IsZero() && now.Sub(configured.checkedAt) < RoutesRecheck {
		return configured.resolver
	}
	configured.checkedAt = now
	settings, ok, err := EtcdSettingsFromEnv(DefaultConfigFile)
	key := ""
	switch {
	case err != nil:
		key = "error " + err.Error()
	case ok:
		key = strings.Join(settings.Endpoints, ",") + " " + settings.Prefix
	}
	if key == configured.key {
		return configured.resolver
	}
	if old, isEtcd := configured.resolver.(*EtcdResolver); isEtcd {
		old.Close()
	}
	configured.key, configured.resolver = key, nil
	switch {
	case err != nil:
		configured.resolver = failedResolver{err}
	case ok:
		r, err := NewEtcdResolver(EtcdResolverOptions{Endpoints: settings.Endpoints, Prefix: settings.Prefix})
		if err != nil {
			configured.resolver = failedResolver{err}
		} else {
			configured.resolver = r
		}
	}
	return configured.resolver
}

// resetConfiguredEtcd closes the configured resolver and forgets the
// settings, so the next lookup reads them again (tests change them).
func resetConfiguredEtcd() {
	configured.mu.Lock()
	defer configured.mu.Unlock()
	if old, isEtcd := configured.resolver.(*EtcdResolver); isEtcd {
		old.Close()
	}
	configured.checkedAt, configured.key, configured.resolver = time.Time{}, "", nil
}
