package sim

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// The HTML report is one self-contained page: a chart per scenario with a
// line of admitted and one of ideal per client, every event of the run
// marked, and nothing fetched from anywhere.
func TestHTMLReportChartsEveryClientAndEvent(t *testing.T) {
	sc, err := Builtin("crash-offset")
	if err != nil {
		t.Fatal(err)
	}
	sc.Duration = Duration(50e9)
	rep, err := Run(sc)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteHTML(&b, []Scenario{sc}, []*Report{rep}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, c := range sc.Clients {
		for _, class := range []string{"admitted", "ideal"} {
			re := regexp.MustCompile(`<path class="` + class + `" data-client="` + c.ID + `" d="M[0-9.]+,[0-9.]+(L[0-9.]+,[0-9.]+){40,}"`)
			if !re.MatchString(page) {
				t.Errorf("no %s line of every window for %s", class, c.ID)
			}
		}
	}
	if got, want := strings.Count(page, `class="event"`), len(sc.Events); got != want {
		t.Errorf("%d events marked, the scenario has %d", got, want)
	}
	for _, label := range []string{"15.5s crash n3", "35.3s restart n3", "44.6s crash n1"} {
		if !strings.Contains(page, label) {
			t.Errorf("no event labelled %q", label)
		}
	}
	for _, bad := range []string{"ZgotmplZ", "<script", "src=", "href=", "@import", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("the page holds %q: not self-contained or badly escaped", bad)
		}
	}
	if err := WriteHTML(&b, []Scenario{sc}, nil); err == nil {
		t.Error("scenarios and reports of different lengths accepted")
	}
}
