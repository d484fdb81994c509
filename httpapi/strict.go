package httpapi

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// strictRequest refuses what the router would otherwise accept silently or
// redirect: a query parameter given twice (?n=1&n=5: which one counts?)
// and an empty path segment (/v1/clients//weight, which ServeMux would
// answer with a redirect to another resource). It reports whether the
// request may go on.
func strictRequest(w http.ResponseWriter, r *http.Request) bool {
	if strings.Contains(r.URL.Path, "//") {
		writeError(w, http.StatusBadRequest,
			fmt.Sprintf("path %q has an empty segment (a client ID cannot be empty)", r.URL.Path), "path")
		return false
	}
	q := r.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if len(q[k]) > 1 {
			writeError(w, http.StatusBadRequest,
				fmt.Sprintf("query parameter %q is given %d times; give it once", k, len(q[k])), k)
			return false
		}
	}
	return true
}
