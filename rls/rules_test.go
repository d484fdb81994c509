package rls

import (
	"strings"
	"testing"
)

func TestParseRulesRefusesWhatCannotMap(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"nothing":       {"rules: []", "no rules"},
		"unknown field": {"rules:\n  - domain: a\n    keys: [k]\n    limit: 5", "field limit not found"},
		"no domain":     {"rules:\n  - keys: [k]", "domain must be non-empty"},
		"slash domain":  {"rules:\n  - domain: a/b\n    keys: [k]", "domain must be non-empty"},
		"no keys":       {"rules:\n  - domain: a", "no keys"},
		"empty key":     {"rules:\n  - domain: a\n    keys: ['']", "key 1 must be non-empty"},
		"key with =":    {"rules:\n  - domain: a\n    keys: [a=b]", "key 1 must be non-empty"},
		"repeated key":  {"rules:\n  - domain: a\n    keys: [k, k]", `key "k" is listed twice`},
		"twice":         {"rules:\n  - domain: a\n    keys: [k]\n  - domain: a\n    keys: [k]", "rule 2 (domain \"a\"): given twice"},
		"not yaml":      {"rules: [", "rls: rules"},
	} {
		_, err := ParseRules([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, tc.want)
		}
	}
}

func TestClientIDFollowsTheRules(t *testing.T) {
	r, err := ParseRules([]byte("rules:\n  - domain: edge\n    keys: [tenant, path]\n  - domain: edge\n    keys: [tenant]\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		domain  string
		entries []Entry
		id      string
		limited bool
	}{
		{"edge", []Entry{{"tenant", "acme"}, {"path", "/v1/search"}}, "edge/tenant=acme/path=/v1/search", true},
		{"edge", []Entry{{"tenant", "acme"}}, "edge/tenant=acme", true},
		{"edge", []Entry{{"path", "/v1/search"}, {"tenant", "acme"}}, "", false}, // keys in another order
		{"edge", []Entry{{"user", "x"}}, "", false},
		{"other", []Entry{{"tenant", "acme"}}, "", false},
		{"edge", []Entry{{"tenant", ""}}, "edge/tenant=", true},
	} {
		id, limited, err := r.ClientID(tc.domain, tc.entries)
		if err != nil || id != tc.id || limited != tc.limited {
			t.Errorf("%s %v: %q %v %v, want %q %v", tc.domain, tc.entries, id, limited, err, tc.id, tc.limited)
		}
	}
	if _, _, err := r.ClientID("edge", []Entry{{"tenant", strings.Repeat("x", 300)}}); err == nil {
		t.Error("a client ID over 256 bytes was made")
	}
	if _, _, err := r.ClientID("edge", []Entry{{"tenant", "a\nb"}}); err == nil {
		t.Error("a client ID with a newline was made")
	}
}
