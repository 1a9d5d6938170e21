package msec

import (
	"encoding/json"
	"os"
	"testing"
)

// The runtime's version is locked to msec-gen's (the root package.json).
func TestVersionIsMsecGenVersion(t *testing.T) {
	data, err := os.ReadFile("../../package.json")
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(data, &pkg); err != nil {
		t.Fatal(err)
	}
	if Version != pkg.Version {
		t.Fatalf("Version = %q, package.json has %q", Version, pkg.Version)
	}
}
