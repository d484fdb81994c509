package gossip

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/fairmesh/fairmesh"
)

func TestMemberChangesAreLoggedByKind(t *testing.T) {
	const unknown = fairmesh.MemberState(-1)
	for _, tc := range []struct {
		was         fairmesh.MemberState
		present     bool
		now         fairmesh.MemberState
		deathLogged bool
		want        string
	}{
		{unknown, false, fairmesh.MemberAlive, false, "level=INFO msg=\"member joined\" member=m"},
		{fairmesh.MemberDead, false, fairmesh.MemberAlive, true, "level=INFO msg=\"member joined\" member=m"},
		{fairmesh.MemberAlive, true, fairmesh.MemberLeft, false, "level=INFO msg=\"member left\" member=m"},
		{fairmesh.MemberDead, false, fairmesh.MemberLeft, false, "level=INFO msg=\"member left\" member=m"},
		{fairmesh.MemberDead, false, fairmesh.MemberLeft, true, "level=INFO msg=\"member left (its leave notice came after it was taken for dead)\""},
		{fairmesh.MemberSuspect, true, fairmesh.MemberDead, false, "level=WARN msg=\"member died: unreachable\" member=m"},
		{fairmesh.MemberAlive, true, fairmesh.MemberSuspect, false, ""},
		{fairmesh.MemberSuspect, true, fairmesh.MemberAlive, false, ""},
	} {
		var buf bytes.Buffer
		logMemberChange(slog.New(slog.NewTextHandler(&buf, nil)), "m", tc.was, tc.present, tc.now, tc.deathLogged)
		got := buf.String()
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%v (present %v) → %v: logged %q, want %q", tc.was, tc.present, tc.now, got, tc.want)
		}
	}
}
