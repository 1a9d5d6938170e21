package msec

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// These tests run a real etcd (Debian's etcd 3.4, installed by
// scripts/setup.sh; test.sh refuses to run without it) on loopback ports.

type etcdProcess struct {
	endpoint string
	args     []string
	cmd      *exec.Cmd
	client   *clientv3.Client
}

var (
	portsMu     sync.Mutex
	portsHanded = map[int]bool{}
)

// loopbackPort is a free TCP port on 127.0.0.1 for a process started later,
// below the kernel's ephemeral range (as test/free-port.ts picks them): an
// OS-assigned port could meanwhile become the local port of an outgoing
// connection (the tests make many) and the process would fail to bind it.
func loopbackPort(t *testing.T) int {
	t.Helper()
	low := 32768
	if text, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if fields := strings.Fields(string(text)); len(fields) > 0 {
			if n, err := strconv.Atoi(fields[0]); err == nil && n > 11000 {
				low = n
			}
		}
	}
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 500 {
		port := 10000 + rand.IntN(low-10000)
		if portsHanded[port] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		l.Close()
		portsHanded[port] = true
		return port
	}
	t.Fatal("no free port below the ephemeral range")
	return 0
}

func startEtcd(t *testing.T) *etcdProcess {
	t.Helper()
	binary, err := exec.LookPath("etcd")
	if err != nil {
		t.Fatal("etcd is not installed (scripts/setup.sh installs Debian's etcd-server)")
	}
	client := fmt.Sprintf("http://127.0.0.1:%d", loopbackPort(t))
	peer := fmt.Sprintf("http://127.0.0.1:%d", loopbackPort(t))
	p := &etcdProcess{endpoint: client, args: []string{binary,
		"--name", "go-test", "--data-dir", filepath.Join(t.TempDir(), "etcd"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "go-test=" + peer, "--log-level", "error", "--logger", "zap"}}
	t.Cleanup(p.kill)
	p.start(t)
	p.client, err = clientv3.New(clientv3.Config{Endpoints: []string{client}, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.client.Close() })
	return p
}

// start runs etcd (again, on the same ports and data) and waits until it is healthy.
func (p *etcdProcess) start(t *testing.T) {
	t.Helper()
	p.cmd = exec.Command(p.args[0], p.args[1:]...)
	p.cmd.Stderr = os.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		resp, err := http.Get(p.endpoint + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("etcd at %s not healthy after 20 s: %v", p.endpoint, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *etcdProcess) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
	}
}

func (p *etcdProcess) put(t *testing.T, key, value string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := p.client.Put(ctx, key, value); err != nil {
		t.Fatal(err)
	}
}

func (p *etcdProcess) del(t *testing.T, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := p.client.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond every 10 ms for up to 1 s (the docs promise a change within 1 s).
func eventually(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > time.Second {
			t.Fatalf("%s: not within 1 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func instanceList(list []RouteInstance) string {
	parts := make([]string, len(list))
	for i, in := range list {
		parts[i] = fmt.Sprintf("%s@%s=%d", in.Address(), in.Network, in.Weight)
	}
	return strings.Join(parts, " ")
}

func TestEtcdResolverFollowsTheKeyLayoutAndTheWatch(t *testing.T) {
	etcd := startEtcd(t)
	prefix := "/go-test"
	etcd.put(t, prefix+"/services/VOA.Crawl/10.0.0.1:7963", `{"ip":"10.0.0.1","port":7963,"protocol":"tcp","weight":100}`)
	etcd.put(t, prefix+"/services/VOA.Crawl/[::1]:7964", `{"ip":"::1","port":7964,"protocol":"udp","weight":250}`)
	etcd.put(t, prefix+"/services/VOA.Jsoup/10.0.0.3:9000", `{"ip":"10.0.0.3","port":9000}`)
	etcd.put(t, prefix+"/services/VOA.Bad/10.0.0.4:1", `{"ip":"10.0.0.4","port":70000}`)
	etcd.put(t, "/other/services/VOA.Crawl/10.9.9.9:1", `{"ip":"10.9.9.9","port":1}`)
	var mu sync.Mutex
	var invalid []string
	r, err := NewEtcdResolver(EtcdResolverOptions{Endpoints: []string{etcd.endpoint}, Prefix: prefix, OnInvalid: func(key, reason string) {
		mu.Lock()
		invalid = append(invalid, key+": "+reason)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	resolve := func(name string) string {
		list, err := r.Resolve(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		return instanceList(list)
	}
	if got := resolve("VOA.Crawl"); got != "10.0.0.1:7963@tcp=100 [::1]:7964@udp=250" {
		t.Fatalf("VOA.Crawl: %s", got)
	}
	if got := resolve("VOA.Jsoup"); got != "10.0.0.3:9000@tcp=100" {
		t.Fatalf("defaults: %s", got)
	}
	if got := resolve("VOA.Bad"); got != "" {
		t.Fatalf("malformed value resolved: %s", got)
	}
	mu.Lock()
	if len(invalid) != 1 || invalid[0] != prefix+"/services/VOA.Bad/10.0.0.4:1: port must be 1..65535" {
		t.Fatalf("OnInvalid got %q", invalid)
	}
	mu.Unlock()
	if !r.Connected() || r.LastError() != "" || r.Describe() != "etcd "+etcd.endpoint+" prefix "+prefix {
		t.Fatalf("state: %v %q %q", r.Connected(), r.LastError(), r.Describe())
	}
	select {
	case <-r.Ready():
	default:
		t.Fatal("Ready not closed after the first read")
	}

	// Scale-out, weight change and removal reach the cache through the watch.
	etcd.put(t, prefix+"/services/VOA.Crawl/10.0.0.5:7963", `{"ip":"10.0.0.5","port":7963,"weight":50}`)
	took := eventually(t, "scale-out", func() bool { return strings.Contains(resolve("VOA.Crawl"), "10.0.0.5:7963@tcp=50") })
	t.Logf("scale-out seen after %v", took)
	etcd.put(t, prefix+"/services/VOA.Crawl/10.0.0.1:7963", `{"ip":"10.0.0.1","port":7963,"weight":300}`)
	eventually(t, "weight change", func() bool {
		return resolve("VOA.Crawl") == "10.0.0.1:7963@tcp=300 [::1]:7964@udp=250 10.0.0.5:7963@tcp=50"
	})
	etcd.del(t, prefix+"/services/VOA.Crawl/[::1]:7964")
	etcd.del(t, prefix+"/services/VOA.Jsoup/10.0.0.3:9000")
	eventually(t, "removal", func() bool {
		return resolve("VOA.Crawl") == "10.0.0.1:7963@tcp=300 10.0.0.5:7963@tcp=50" && resolve("VOA.Jsoup") == ""
	})
	snapshot := r.Snapshot()
	if len(snapshot) != 1 || instanceList(snapshot["VOA.Crawl"]) != "10.0.0.1:7963@tcp=300 10.0.0.5:7963@tcp=50" {
		t.Fatalf("snapshot %v", snapshot)
	}
}

func TestCallsRouteThroughEtcdConfiguredByEnvironmentOrConfigAndSurviveEtcdDown(t *testing.T) {
	etcd := startEtcd(t)
	server := startFakeServer(t, echo)
	host, port, _ := net.SplitHostPort(server.address())
	etcd.put(t, "/go-env/services/Test.Etcd/"+server.address(), fmt.Sprintf(`{"ip":%q,"port":%s,"protocol":"tcp","weight":100}`, host, port))
	dir := t.TempDir()
	wd, _ := os.Getwd()
	t.Cleanup(func() { os.Chdir(wd); resetConfiguredEtcd() })
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	t.Setenv(RoutesEnv, "")

	// 1. [ROUTE] etcd / etcd_prefix in etc/config.ini; no routes file anywhere.
	os.Mkdir("etc", 0o755)
	os.WriteFile(DefaultConfigFile, []byte("[ROUTE]\netcd = "+etcd.endpoint+"/\netcd_prefix=/go-env\n"), 0o644)
	t.Setenv(EtcdEndpointsEnv, "")
	t.Setenv(EtcdPrefixEnv, "")
	resetConfiguredEtcd()
	client := NewClient(Options{Service: "Test.Etcd", Timeout: 5 * time.Second})
	if reply, err := client.CallRaw(context.Background(), "x.Y.Z", []byte("via config")); err != nil || string(reply) != "via config" {
		t.Fatalf("via [ROUTE] etcd: %q %v", reply, err)
	}

	// 2. The environment wins over the config file.
	os.WriteFile(DefaultConfigFile, []byte("[ROUTE]\netcd=http://127.0.0.1:1\n"), 0o644)
	t.Setenv(EtcdEndpointsEnv, etcd.endpoint)
	t.Setenv(EtcdPrefixEnv, "/go-env")
	resetConfiguredEtcd()
	if reply, err := client.CallRaw(context.Background(), "x.Y.Z", []byte("via env")); err != nil || string(reply) != "via env" {
		t.Fatalf("via $MSEC_ETCD_ENDPOINTS: %q %v", reply, err)
	}
	_, err := NewClient(Options{Service: "Test.Unknown"}).CallRaw(context.Background(), "x.Y.Z", nil)
	want := "srpc -15 get route failed: no route for Test.Unknown (looked in: etcd " + etcd.endpoint + " prefix /go-env, routes file etc/routes.conf (missing))"
	if err == nil || err.Error() != want {
		t.Fatalf("unknown name:\n  %v\nwant\n  %s", err, want)
	}

	// 3. etcd down: the cached route keeps serving; an uncached name says etcd is unreachable.
	etcd.kill()
	for i := 0; i < 20; i++ {
		if reply, err := client.CallRaw(context.Background(), "x.Y.Z", []byte("cached")); err != nil || string(reply) != "cached" {
			t.Fatalf("etcd down, call %d: %q %v", i, reply, err)
		}
	}
	var last error
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		_, last = NewClient(Options{Service: "Test.Unknown"}).CallRaw(context.Background(), "x.Y.Z", nil)
		if strings.Contains(last.Error(), "unreachable") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	prefix := "srpc -15 get route failed: no route for Test.Unknown (looked in: etcd " + etcd.endpoint + " prefix /go-env (unreachable: "
	if CodeOf(last) != CodeGetRouteFailed || !strings.HasPrefix(last.Error(), prefix) || !strings.HasSuffix(last.Error(), "; serving cached routes), routes file etc/routes.conf (missing))") {
		t.Fatalf("uncached name with etcd down: %v", last)
	}

	// 4. etcd back (same data): the resolver follows it again — a service registered now is called.
	etcd.start(t)
	etcd.put(t, "/go-env/services/Test.Later/"+server.address(), fmt.Sprintf(`{"ip":%q,"port":%s}`, host, port))
	later := NewClient(Options{Service: "Test.Later", Timeout: time.Second})
	var err2 error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var reply []byte
		if reply, err2 = later.CallRaw(context.Background(), "x.Y.Z", []byte("later")); err2 == nil && string(reply) == "later" {
			break
		}
	}
	if err2 != nil {
		t.Fatalf("after etcd came back: %v", err2)
	}
}

func TestColdEtcdResolverSaysNoRoutesCached(t *testing.T) {
	dead := fmt.Sprintf("http://127.0.0.1:%d", loopbackPort(t))
	r, err := NewEtcdResolver(EtcdResolverOptions{Endpoints: []string{dead}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	start := time.Now()
	list, err := r.Resolve(context.Background(), "A.B")
	if err != nil || list != nil {
		t.Fatalf("Resolve = %v, %v", list, err)
	}
	if waited := time.Since(start); waited > EtcdFirstLoadWait+time.Second {
		t.Fatalf("first Resolve waited %v", waited)
	}
	got := r.Describe()
	want := "etcd " + dead + " prefix /msec (unreachable: etcd unreachable (" + dead + ": context deadline exceeded); no routes cached)"
	if got != want {
		t.Fatalf("Describe:\n  %s\nwant\n  %s", got, want)
	}
}

func TestEtcdSettingsAndEndpointErrors(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "config.ini")
	os.WriteFile(config, []byte("[ROUTE]\netcd=http://10.0.0.1:2379, http://10.0.0.2:2379/\n"), 0o644)
	t.Setenv(EtcdEndpointsEnv, "")
	t.Setenv(EtcdPrefixEnv, "")
	s, ok, err := EtcdSettingsFromEnv(config)
	if err != nil || !ok || strings.Join(s.Endpoints, " ") != "http://10.0.0.1:2379 http://10.0.0.2:2379" || s.Prefix != "/msec" {
		t.Fatalf("config: %+v %v %v", s, ok, err)
	}
	if _, ok, err := EtcdSettingsFromEnv(filepath.Join(dir, "absent.ini")); ok || err != nil {
		t.Fatalf("no settings: %v %v", ok, err)
	}
	t.Setenv(EtcdEndpointsEnv, "10.0.0.1:2379")
	if _, _, err := EtcdSettingsFromEnv(config); err == nil || err.Error() != `$MSEC_ETCD_ENDPOINTS: invalid etcd endpoint "10.0.0.1:2379" (expected http://host:port)` {
		t.Fatalf("bad endpoint: %v", err)
	}
	// A bad setting makes routing names fail with -15 naming it.
	wd, _ := os.Getwd()
	t.Cleanup(func() { os.Chdir(wd); resetConfiguredEtcd() })
	os.Chdir(dir)
	resetConfiguredEtcd()
	_, err = NewClient(Options{Service: "A.B"}).CallRaw(context.Background(), "x.Y.Z", nil)
	if err == nil || err.Error() != `srpc -15 get route failed: $MSEC_ETCD_ENDPOINTS: invalid etcd endpoint "10.0.0.1:2379" (expected http://host:port)` {
		t.Fatalf("call: %v", err)
	}
	for text, want := range map[string]string{
		`{"ip":"a","port":1,"protocol":"sctp"}`: `protocol must be "tcp" or "udp"`,
		`{"ip":"a","port":1,"weight":0}`:        "weight must be an integer > 0",
		`{"ip":"a","port":1.5}`:                 "port must be 1..65535",
		`{"ip":"","port":1}`:                    "ip must be a non-empty string",
	} {
		if _, err := ParseEtcdInstance([]byte(text)); err == nil || err.Error() != want {
			t.Errorf("%s: %v", text, err)
		}
	}
}
