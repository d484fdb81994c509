package strictjson

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDuplicateKeyNamesThePath(t *testing.T) {
	for doc, want := range map[string]string{
		`{"weight":2,"weight":7}`:                                  "weight",
		`{"a":{"b":1,"c":{"d":1,"d":2}}}`:                          "a.c.d",
		`{"requests":[{"client":"a"},{"client":"b","n":1,"n":2}]}`: "requests[1].n",
		`{"a":1,"b":{"a":2}}`:                                      "",
		`[{"a":1},{"a":1}]`:                                        "",
		`{"a":[1,2,{"x":1}],"b":"a"}`:                              "",
		`{"a":1,"a"`:                                               "a",
		`{"a":`:                                                    "",
		`not json`:                                                 "",
		`"just a string"`:                                          "",
	} {
		if got := DuplicateKey([]byte(doc)); got != want {
			t.Errorf("DuplicateKey(%s) = %q, want %q", doc, got, want)
		}
	}
	deep := strings.Repeat(`{"a":`, 40) + `{"x":1,"x":2}` + strings.Repeat(`}`, 40)
	if got := DuplicateKey([]byte(deep)); got != "" {
		t.Errorf("past maxKeyDepth nothing is reported, got %q", got)
	}
}

// FuzzDuplicateKey: any input is safe, encoding/json's own output never
// has a duplicate, and a key given twice in an object is always found.
func FuzzDuplicateKey(f *testing.F) {
	for _, s := range []string{`{"weight":2}`, `{"requests":[{"client":"a","n":3}]}`, `{"a":{"b":[1,{"c":null}]}}`, `[]`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		DuplicateKey(data)
		var v map[string]any
		if json.Unmarshal(data, &v) != nil || len(v) == 0 {
			return
		}
		clean, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got := DuplicateKey(clean); got != "" {
			t.Fatalf("a duplicate %q in encoding/json's output %s", got, clean)
		}
		// Repeat the first key of the (sorted) output.
		var key string
		for k := range v {
			if key == "" || k < key {
				key = k
			}
		}
		kb, _ := json.Marshal(key)
		dup := append([]byte(`{`+string(kb)+`:0,`), clean[1:]...)
		if got := DuplicateKey(dup); got != key {
			t.Fatalf("DuplicateKey(%s) = %q, want %q", dup, got, key)
		}
	})
}
