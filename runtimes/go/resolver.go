package msec

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// Resolver lists the instances of routing names (Group.Service). Resolve
// returns nil (and no error) for a name it does not know, so the next
// resolver is asked; Describe says where it looks, for the -15 message.
type Resolver interface {
	Resolve(ctx context.Context, service string) ([]RouteInstance, error)
	Describe() string
}

var (
	resolversMu sync.RWMutex
	registered  []Resolver
)

// RegisterResolver adds a resolver, consulted before the etcd resolver
// configured from the environment or etc/config.ini and before the routes
// file (and after resolvers added earlier).
func RegisterResolver(r Resolver) {
	resolversMu.Lock()
	registered = append(registered, r)
	resolversMu.Unlock()
}

// UnregisterResolver removes a resolver added with RegisterResolver.
func UnregisterResolver(r Resolver) {
	resolversMu.Lock()
	defer resolversMu.Unlock()
	for i, x := range registered {
		if x == r {
			registered = append(registered[:i:i], registered[i+1:]...)
			return
		}
	}
}

// routesFileResolver is the routes file as a Resolver.
type routesFileResolver struct{ file *routesFile }

func (r routesFileResolver) Resolve(_ context.Context, service string) ([]RouteInstance, error) {
	list, _, err := r.file.instances(service)
	return list, err
}

func (r routesFileResolver) Describe() string {
	_, where, _ := r.file.instances("")
	return where
}

// resolverChain is every resolver in the order they are asked: registered
// ones, the configured etcd resolver (if any), the routes file.
func resolverChain() []Resolver {
	resolversMu.RLock()
	chain := append([]Resolver(nil), registered...)
	resolversMu.RUnlock()
	if etcd := configuredEtcd(); etcd != nil {
		chain = append(chain, etcd)
	}
	return append(chain, routesFileResolver{&defaultRoutes})
}

// ResolveInstances returns the instances of a routing name from the first
// resolver that knows it; nil when none does. A resolver's error is an
// *Error with CodeGetRouteFailed.
func ResolveInstances(ctx context.Context, service string) ([]RouteInstance, error) {
	for _, r := range resolverChain() {
		list, err := r.Resolve(ctx, service)
		if err != nil {
			return nil, &Error{Code: CodeGetRouteFailed, Detail: err.Error(), Address: service}
		}
		if len(list) > 0 {
			return list, nil
		}
	}
	return nil, nil
}

// ResolveRoute turns a service name into the route of one call: a literal
// address as written, else a pick of the process-wide Balancer among the
// instances a resolver lists. Failures are an *Error with
// CodeGetRouteFailed naming the service and where it looked.
func ResolveRoute(service string) (Route, error) {
	return resolveRoute(context.Background(), service)
}

func resolveRoute(ctx context.Context, service string) (Route, error) {
	if route, ok := ParseLiteral(service); ok {
		return route, nil
	}
	list, err := ResolveInstances(ctx, service)
	if err != nil {
		return Route{}, err
	}
	if route, ok := CurrentBalancer().Pick(service, list); ok {
		return route, nil
	}
	var looked []string
	for _, r := range resolverChain() {
		looked = append(looked, r.Describe())
	}
	return Route{}, &Error{Code: CodeGetRouteFailed, Detail: fmt.Sprintf("no route for %s (looked in: %s)", service, strings.Join(looked, ", ")), Address: service}
}
