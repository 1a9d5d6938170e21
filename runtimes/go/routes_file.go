package msec

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The routes file maps routing names to instances, in the plain-text format
// every msec-gen runtime reads the same way:
//
//	# <Group.Service> <ip:port[@tcp|@udp]> [weight=N]
//	VOA.Crawl     10.0.0.1:7963
//	VOA.Crawl     10.0.0.2:7963  weight=200
//
// One instance per line; '#' starts a comment; blank lines are ignored.
const (
	// DefaultWeight is the weight of a line without weight= (the MSEC console always wrote 100).
	DefaultWeight = 100
	// RoutesEnv names the environment variable holding the routes file path.
	RoutesEnv = "MSEC_ROUTES"
	// DefaultConfigFile is read for "[ROUTE] File" when RoutesEnv is unset.
	DefaultConfigFile = "etc/config.ini"
	// DefaultRoutesFile is used when neither the environment nor the config names a file.
	DefaultRoutesFile = "etc/routes.conf"
	// RoutesRecheck is how often the file is checked for changes at most.
	RoutesRecheck = time.Second
	// maxSafeWeight matches the TypeScript runtime's Number.isSafeInteger limit.
	maxSafeWeight = 1<<53 - 1
)

// RouteInstance is one instance of a service with its static weight.
type RouteInstance struct {
	Route
	Weight int64
}

// RoutesFileError is a routes-file line that cannot be used.
type RoutesFileError struct {
	File   string
	Line   int
	Detail string
}

func (e *RoutesFileError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Detail)
}

var serviceNamePattern = regexp.MustCompile(`^[^.:@\s]+(\.[^.:@\s]+)+$`)
var weightPattern = regexp.MustCompile(`^weight=([0-9]+)$`)

// ParseRoutes reads routes-file text into instances per routing name, in file order.
func ParseRoutes(text, filename string) (map[string][]RouteInstance, error) {
	routes := map[string][]RouteInstance{}
	lines := strings.Split(text, "\n")
	for index, raw := range lines {
		raw = strings.TrimSuffix(raw, "\r")
		if hash := strings.IndexByte(raw, '#'); hash >= 0 {
			raw = raw[:hash]
		}
		line := strings.TrimSpace(raw)
		if line == "" {
			continue
		}
		fail := func(format string, args ...any) error {
			return &RoutesFileError{File: filename, Line: index + 1, Detail: fmt.Sprintf(format, args...)}
		}
		parts := strings.Fields(line)
		if len(parts) < 2 || len(parts) > 3 {
			return nil, fail("expected \"<Group.Service> <ip:port[@tcp|@udp]> [weight=N]\", got %q", line)
		}
		name, addressText := parts[0], parts[1]
		if !serviceNamePattern.MatchString(name) {
			return nil, fail("service name %q is not of the form Group.Service", name)
		}
		route, ok := ParseLiteral(addressText)
		suffix := "tcp"
		if at := strings.IndexByte(addressText, '@'); at >= 0 {
			suffix = addressText[at+1:]
		}
		if !ok || (suffix != "tcp" && suffix != "udp") {
			return nil, fail("invalid address %q (expected ip:port, ip:port@tcp or ip:port@udp)", addressText)
		}
		weight := int64(DefaultWeight)
		if len(parts) == 3 {
			m := weightPattern.FindStringSubmatch(parts[2])
			w, err := int64(0), error(nil)
			if m != nil {
				w, err = strconv.ParseInt(m[1], 10, 64)
			}
			if m == nil || err != nil || w <= 0 || w > maxSafeWeight {
				return nil, fail("expected weight=N with N > 0, got %q", parts[2])
			}
			weight = w
		}
		for _, existing := range routes[name] {
			if existing.IP == route.IP && existing.Port == route.Port {
				return nil, fail("%s lists %s twice", name, addressText)
			}
		}
		routes[name] = append(routes[name], RouteInstance{Route: route, Weight: weight})
	}
	return routes, nil
}

// RoutesPath is where routing names are looked up: $MSEC_ROUTES, else
// "[ROUTE] File" in etc/config.ini, else etc/routes.conf (relative paths
// are relative to the working directory) — the TypeScript runtime's order.
func RoutesPath() string {
	if path := os.Getenv(RoutesEnv); path != "" {
		return path
	}
	if path := configValue(DefaultConfigFile, "ROUTE", "File"); path != "" {
		return path
	}
	return DefaultRoutesFile
}

// configValue reads one key of an MSEC INI file (get_config semantics:
// [Section] headers, key=value split at the first '=', both sides trimmed,
// '#' and ';' comment lines); "" when the file, section or key is missing.
func configValue(file, section, key string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	current, value := "", ""
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			current = strings.TrimSpace(line[1 : len(line)-1])
		default:
			eq := strings.IndexByte(line, '=')
			if eq > 0 && current == section && strings.TrimSpace(line[:eq]) == key {
				value = strings.TrimSpace(line[eq+1:])
			}
		}
	}
	return value
}

// routesFile caches the parsed routes file and re-reads it when its path,
// size or modification time changes (checked at most every RoutesRecheck).
type routesFile struct {
	mu        sync.Mutex
	path      string
	stamp     string
	checkedAt time.Time
	routes    map[string][]RouteInstance
	failure   error
}

var defaultRoutes routesFile

// instances returns the instances of service and a description of where it looked.
func (r *routesFile) instances(service string) ([]RouteInstance, string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	path := RoutesPath()
	now := time.Now()
	if path != r.path || now.Sub(r.checkedAt) >= RoutesRecheck {
		r.checkedAt = now
		r.reload(path)
	}
	where := "routes file " + path
	if r.stamp == "missing" {
		where += " (missing)"
	}
	if r.failure != nil {
		return nil, where, r.failure
	}
	return r.routes[service], where, nil
}

func (r *routesFile) reload(path string) {
	info, err := os.Stat(path)
	if err != nil {
		r.path, r.stamp, r.routes, r.failure = path, "missing", nil, nil
		return
	}
	stamp := fmt.Sprintf("%d:%d", info.ModTime().UnixNano(), info.Size())
	if path == r.path && stamp == r.stamp {
		return
	}
	r.path, r.stamp = path, stamp
	text, err := os.ReadFile(path)
	if err != nil {
		r.routes, r.failure = nil, err
		return
	}
	r.routes, r.failure = ParseRoutes(string(text), path)
}
