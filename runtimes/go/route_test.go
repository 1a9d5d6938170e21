package msec

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestParseLiteral(t *testing.T) {
	cases := []struct {
		text string
		ok   bool
		want Route
	}{
		{"1.2.3.4:80@udp", true, Route{"1.2.3.4", 80, "udp"}},
		{"1.2.3.4:80@xyz", true, Route{"1.2.3.4", 80, "tcp"}},
		{"1.2.3.4:80", true, Route{"1.2.3.4", 80, "tcp"}},
		{"[::1]:7963@tcp", true, Route{"::1", 7963, "tcp"}},
		{"VOA.Crawl", false, Route{}},
		{"1.2.3.4:0", false, Route{}},
		{"1.2.3.4:65536", false, Route{}},
		{":80", false, Route{}},
	}
	for _, c := range cases {
		got, ok := ParseLiteral(c.text)
		if ok != c.ok || got != c.want {
			t.Errorf("ParseLiteral(%q) = %+v, %v", c.text, got, ok)
		}
	}
	if got := (Route{"::1", 7963, "tcp"}).Address(); got != "[::1]:7963" {
		t.Errorf("Address = %q", got)
	}
}

func TestParseRoutes(t *testing.T) {
	routes, err := ParseRoutes("# comment\nVOA.Crawl 10.0.0.1:7963\r\n\nVOA.Crawl 10.0.0.2:7963 weight=200 # trailing\nVOA.Jsoup 10.0.0.3:9000@udp\n", "r")
	if err != nil {
		t.Fatal(err)
	}
	crawl := routes["VOA.Crawl"]
	if len(crawl) != 2 || crawl[0].Weight != 100 || crawl[1].Weight != 200 || crawl[1].IP != "10.0.0.2" {
		t.Errorf("VOA.Crawl = %+v", crawl)
	}
	if j := routes["VOA.Jsoup"]; len(j) != 1 || j[0].Network != "udp" || j[0].Port != 9000 {
		t.Errorf("VOA.Jsoup = %+v", j)
	}
	bad := map[string]string{
		"VOA 1.2.3.4:80":                     "r:1: service name \"VOA\" is not of the form Group.Service",
		"\nA.B 1.2.3.4:80@xyz":               "r:2: invalid address \"1.2.3.4:80@xyz\" (expected ip:port, ip:port@tcp or ip:port@udp)",
		"A.B 1.2.3.4:80 weight=0":            "r:1: expected weight=N with N > 0, got \"weight=0\"",
		"A.B 1.2.3.4:80\nA.B 1.2.3.4:80@udp": "r:2: A.B lists 1.2.3.4:80@udp twice",
		"A.B":                                "r:1: expected \"<Group.Service> <ip:port[@tcp|@udp]> [weight=N]\", got \"A.B\"",
	}
	for text, want := range bad {
		_, err := ParseRoutes(text, "r")
		var fe *RoutesFileError
		if !errors.As(err, &fe) || err.Error() != want {
			t.Errorf("ParseRoutes(%q) error %v, want %s", text, err, want)
		}
	}
}

func TestResolveRouteUsesTheRoutesFileNamedByTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "routes.conf")
	if err := os.WriteFile(file, []byte("VOA.Crawl 127.0.0.1:7963 weight=5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(RoutesEnv, file)
	route, err := ResolveRoute("VOA.Crawl")
	if err != nil || route != (Route{"127.0.0.1", 7963, "tcp"}) {
		t.Fatalf("ResolveRoute = %+v, %v", route, err)
	}
	_, err = ResolveRoute("VOA.Other")
	if CodeOf(err) != CodeGetRouteFailed || err.Error() != "srpc -15 get route failed: no route for VOA.Other (looked in: routes file "+file+")" {
		t.Fatalf("unknown name: %v", err)
	}
	t.Setenv(RoutesEnv, filepath.Join(dir, "absent.conf"))
	_, err = ResolveRoute("VOA.Crawl")
	if CodeOf(err) != CodeGetRouteFailed || err.Error() != "srpc -15 get route failed: no route for VOA.Crawl (looked in: routes file "+filepath.Join(dir, "absent.conf")+" (missing))" {
		t.Fatalf("missing file: %v", err)
	}
}

func TestRoutesPathFallsBackToConfigThenDefault(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	t.Cleanup(func() { os.Chdir(wd) })
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	t.Setenv(RoutesEnv, "")
	if got := RoutesPath(); got != DefaultRoutesFile {
		t.Errorf("no config: %q", got)
	}
	os.Mkdir("etc", 0o755)
	os.WriteFile(DefaultConfigFile, []byte("[LOG]\nFile=x\n[ROUTE]\n; comment\n File = conf/my-routes.conf \n"), 0o644)
	if got := RoutesPath(); got != "conf/my-routes.conf" {
		t.Errorf("with config: %q", got)
	}
}
