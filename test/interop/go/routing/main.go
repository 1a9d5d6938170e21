// Command routing prints how the Go runtime reads literal addresses and
// routes files, for test/interop/go-routing.test.ts to compare with the
// TypeScript runtime. Input (stdin): {"literals": [...], "routes": [...]}.
package main

import (
	"encoding/json"
	"os"

	msec "github.com/msec-gen/msec-gen/runtimes/go"
)

type route struct {
	IP     string `json:"ip"`
	Port   int    `json:"port"`
	Type   string `json:"type"`
	Weight int64  `json:"weight,omitempty"`
}

type routesResult struct {
	Routes map[string][]route `json:"routes,omitempty"`
	Error  string             `json:"error,omitempty"`
}

func main() {
	var input struct {
		Literals []string `json:"literals"`
		Routes   []string `json:"routes"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&input); err != nil {
		panic(err)
	}
	var output struct {
		Literals []*route       `json:"literals"`
		Routes   []routesResult `json:"routes"`
	}
	for _, text := range input.Literals {
		r, ok := msec.ParseLiteral(text)
		if !ok {
			output.Literals = append(output.Literals, nil)
			continue
		}
		output.Literals = append(output.Literals, &route{IP: r.IP, Port: r.Port, Type: r.Network})
	}
	for _, text := range input.Routes {
		parsed, err := msec.ParseRoutes(text, "routes.conf")
		if err != nil {
			output.Routes = append(output.Routes, routesResult{Error: err.Error()})
			continue
		}
		result := routesResult{Routes: map[string][]route{}}
		for name, list := range parsed {
			for _, i := range list {
				result.Routes[name] = append(result.Routes[name], route{IP: i.IP, Port: i.Port, Type: i.Network, Weight: i.Weight})
			}
		}
		output.Routes = append(output.Routes, result)
	}
	json.NewEncoder(os.Stdout).Encode(output)
}
