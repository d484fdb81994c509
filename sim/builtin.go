package sim

import (
	"bytes"
	"embed"
	"fmt"
	"sort"
	"strings"
)

//go:embed scenarios/*.json
var builtinFS embed.FS

// BuiltinNames lists the built-in scenarios, sorted.
func BuiltinNames() []string {
	entries, err := builtinFS.ReadDir("scenarios")
	if err != nil {
		panic("sim: embedded scenarios missing: " + err.Error())
	}
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".json"))
	}
	sort.Strings(names)
	return names
}

// Builtin returns the built-in scenario called name (see BuiltinNames).
func Builtin(name string) (Scenario, error) {
	b, err := builtinFS.ReadFile("scenarios/" + name + ".json")
	if err != nil || strings.ContainsAny(name, "/.") {
		return Scenario{}, fmt.Errorf("sim: no built-in scenario %q (have %s)", name, strings.Join(BuiltinNames(), ", "))
	}
	return Load(bytes.NewReader(b))
}
