package msec

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// The balancer vectors are recorded from the TypeScript runtime's Balancer
// by test/interop/go/balancer-vectors.ts (test/interop/go-balancer.test.ts
// checks the file is current): every random draw with its bound, and the
// pick and weights after every step. The Go balancer, given the same draws,
// must ask for the same bounds in the same order, pick the same servers and
// reach the same weights.

type balancerVector struct {
	Name              string `json:"name"`
	ShapingRequestMin *int   `json:"shapingRequestMin"`
	Service           string `json:"service"`
	Instances         []struct {
		IP     string `json:"ip"`
		Port   int    `json:"port"`
		Type   string `json:"type"`
		Weight int64  `json:"weight"`
	} `json:"instances"`
	Draws [][2]int64 `json:"draws"`
	Steps []struct {
		AtMs    int64   `json:"at_ms"`
		Op      string  `json:"op"`
		Pick    *string `json:"pick"`
		Addr    string  `json:"addr"`
		Failed  int     `json:"failed"`
		CostMs  int64   `json:"cost_ms"`
		Known   bool    `json:"known"`
		Weights *string `json:"weights"`
	} `json:"steps"`
}

func weightsText(ws []ServerWeight) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = fmt.Sprintf("%s %d/%d", w.Address, w.DynamicWeight, w.StaticWeight)
		if w.Dead {
			parts[i] += " dead"
		}
	}
	return strings.Join(parts, ", ")
}

func TestBalancerMatchesTheTypeScriptVectors(t *testing.T) {
	data, err := os.ReadFile("testdata/balancer-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []balancerVector `json:"vectors"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Vectors) < 8 {
		t.Fatalf("%d vectors, want at least 8", len(file.Vectors))
	}
	for _, v := range file.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			var now int64
			drawn := 0
			b := NewBalancer(BalancerOptions{
				Now: func() time.Time { return time.UnixMilli(now) },
				RandomInt: func(n int64) int64 {
					if drawn >= len(v.Draws) {
						t.Fatalf("draw %d (bound %d) beyond the %d the reference made", drawn, n, len(v.Draws))
					}
					d := v.Draws[drawn]
					drawn++
					if d[0] != n {
						t.Fatalf("draw %d: bound %d, the reference asked for %d", drawn-1, n, d[0])
					}
					return d[1]
				},
				ShapingRequestMin: v.ShapingRequestMin,
			})
			instances := make([]RouteInstance, len(v.Instances))
			for i, in := range v.Instances {
				instances[i] = RouteInstance{Route: Route{IP: in.IP, Port: in.Port, Network: in.Type}, Weight: in.Weight}
			}
			weights := ""
			for i, s := range v.Steps {
				now = s.AtMs
				switch s.Op {
				case "pick":
					route, ok := b.Pick(v.Service, instances)
					if got := route.Address(); !ok || s.Pick == nil || got != *s.Pick {
						t.Fatalf("step %d: picked %s (%v), the reference %v", i, got, ok, *s.Pick)
					}
				case "update":
					if got := b.Update(v.Service, s.Addr, s.Failed, s.CostMs); got != s.Known {
						t.Fatalf("step %d: Update(%s) = %v, want %v", i, s.Addr, got, s.Known)
					}
				case "refused":
					if got := b.MarkRefused(v.Service, s.Addr); got != s.Known {
						t.Fatalf("step %d: MarkRefused(%s) = %v, want %v", i, s.Addr, got, s.Known)
					}
				case "tick":
					b.Tick(v.Service)
				default:
					t.Fatalf("step %d: unknown op %q", i, s.Op)
				}
				if s.Weights != nil {
					weights = *s.Weights
				}
				if got := weightsText(b.Weights(v.Service)); got != weights {
					t.Fatalf("step %d (%s at %d ms): weights\n  %s\nwant\n  %s", i, s.Op, s.AtMs, got, weights)
				}
			}
			if drawn != len(v.Draws) {
				t.Fatalf("%d draws, the reference made %d", drawn, len(v.Draws))
			}
		})
	}
}

func TestBalancerDefaults(t *testing.T) {
	b := NewBalancer(BalancerOptions{})
	if _, ok := b.Pick("A.B", nil); ok {
		t.Fatal("Pick of no instances succeeded")
	}
	if b.Weights("A.B") != nil || b.Update("A.B", "1.2.3.4:5", 0, 1) || b.MarkRefused("A.B", "1.2.3.4:5") {
		t.Fatal("unknown service has state")
	}
	list := []RouteInstance{{Route: Route{"10.0.0.1", 1, "tcp"}, Weight: 100}, {Route: Route{"10.0.0.2", 1, "tcp"}, Weight: 300}}
	counts := map[string]int{}
	for i := 0; i < 4000; i++ {
		r, _ := b.Pick("A.B", list)
		counts[r.IP]++
	}
	// Weighted 1:3 with the default random source: 1000 ± 200 expected for the first.
	if counts["10.0.0.1"] < 800 || counts["10.0.0.1"] > 1200 || counts["10.0.0.1"]+counts["10.0.0.2"] != 4000 {
		t.Fatalf("picks %v", counts)
	}
	if got := weightsText(b.Weights("A.B")); got != "10.0.0.1:1 100/100, 10.0.0.2:1 300/300" {
		t.Fatalf("weights %s", got)
	}
}
