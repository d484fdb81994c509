package rls

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/fairmesh/fairmesh"
)

// Rule limits the descriptors of Domain whose entry keys are Keys, in
// order.
type Rule struct {
	Domain string   `yaml:"domain"`
	Keys   []string `yaml:"keys"`
}

// Rules is a set of rules, looked up by domain.
type Rules struct {
	byDomain map[string][][]string
}

// rulesFile is the rules file's shape:
//
//	rules:
//	  - domain: edge
//	    keys: [tenant, path]
//	  - domain: edge
//	    keys: [tenant]
type rulesFile struct {
	Rules []Rule `yaml:"rules"`
}

// maxRules bounds a rules file.
const maxRules = 10000

// ParseRules reads a rules file (YAML, or JSON, which is YAML). Unknown
// fields, an empty domain or key, a key list that is empty or repeats a
// key, and a rule given twice are errors that name the rule.
func ParseRules(b []byte) (*Rules, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f rulesFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("rls: rules: %w", err)
	}
	return NewRules(f.Rules)
}

// NewRules checks rules as ParseRules does and indexes them.
func NewRules(rules []Rule) (*Rules, error) {
	if len(rules) == 0 {
		return nil, errors.New("rls: no rules: nothing would be limited")
	}
	if len(rules) > maxRules {
		return nil, fmt.Errorf("rls: %d rules, at most %d", len(rules), maxRules)
	}
	r := &Rules{byDomain: map[string][][]string{}}
	for i, rule := range rules {
		where := fmt.Sprintf("rls: rule %d (domain %q)", i+1, rule.Domain)
		if rule.Domain == "" || strings.ContainsAny(rule.Domain, "/") {
			return nil, fmt.Errorf("%s: the domain must be non-empty and hold no '/'", where)
		}
		if len(rule.Keys) == 0 {
			return nil, fmt.Errorf("%s: no keys", where)
		}
		for j, k := range rule.Keys {
			if k == "" || strings.ContainsAny(k, "/=") {
				return nil, fmt.Errorf("%s: key %d must be non-empty and hold no '/' or '='", where, j+1)
			}
			if slices.Contains(rule.Keys[:j], k) {
				return nil, fmt.Errorf("%s: key %q is listed twice", where, k)
			}
		}
		for _, ks := range r.byDomain[rule.Domain] {
			if slices.Equal(ks, rule.Keys) {
				return nil, fmt.Errorf("%s: given twice", where)
			}
		}
		r.byDomain[rule.Domain] = append(r.byDomain[rule.Domain], slices.Clone(rule.Keys))
	}
	return r, nil
}

// Entry is one key/value of a descriptor.
type Entry struct{ Key, Value string }

// ClientID returns the fairmesh client of a descriptor of domain, and
// whether a rule limits it. The ID is checked as every client ID is
// (fairmesh.ValidateClientID): a descriptor that makes a bad one is an
// error, not an unlimited request.
func (r *Rules) ClientID(domain string, entries []Entry) (string, bool, error) {
	for _, ks := range r.byDomain[domain] {
		if len(ks) != len(entries) {
			continue
		}
		match := true
		for i, e := range entries {
			if e.Key != ks[i] {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		var b strings.Builder
		b.WriteString(domain)
		for _, e := range entries {
			b.WriteByte('/')
			b.WriteString(e.Key)
			b.WriteByte('=')
			b.WriteString(e.Value)
		}
		id := b.String()
		if err := fairmesh.ValidateClientID(id); err != nil {
			return "", false, err
		}
		return id, true, nil
	}
	return "", false, nil
}
