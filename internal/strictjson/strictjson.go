// Package strictjson holds the checks encoding/json leaves out that a
// strict reader of untrusted or hand-written JSON needs.
package strictjson

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// maxKeyDepth bounds how deep duplicateKey looks: no request of this API
// nests deeper than three levels, so a document nested further is refused by
// the decoder for its shape whatever its keys.
const maxKeyDepth = 16

// DuplicateKey returns the path (as "a.b" or "requests[2].n") of the first
// object key that appears twice within one object of the JSON document raw,
// or "" when none does. encoding/json keeps the last of two equal keys, so
// {"weight":2,"weight":7} would set 7 without a word: a request that says
// two things is refused instead. Malformed JSON returns "": the decoder that
// runs next names the error.
func DuplicateKey(raw []byte) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	dup, _ := walkKeys(dec, "", 0)
	return dup
}

func walkKeys(dec *json.Decoder, at string, depth int) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return "", nil
	}
	if depth >= maxKeyDepth {
		return "", fmt.Errorf("nested deeper than %d", maxKeyDepth)
	}
	switch delim {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return "", err
			}
			key, _ := kt.(string)
			path := key
			if at != "" {
				path = at + "." + key
			}
			if seen[key] {
				return path, nil
			}
			seen[key] = true
			if dup, err := walkKeys(dec, path, depth+1); dup != "" || err != nil {
				return dup, err
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			if dup, err := walkKeys(dec, fmt.Sprintf("%s[%d]", at, i), depth+1); dup != "" || err != nil {
				return dup, err
			}
		}
	}
	_, err = dec.Token() // the closing delimiter
	return "", err
}
