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
		was     fairmesh.MemberState
		present bool
		now     fairmesh.MemberState
		want    string
	}{
		{unknown, false, fairmesh.MemberAlive, "level=INFO msg=\"member joined\" member=m"},
		{fairmesh.MemberDead, false, fairmesh.MemberAlive, "level=INFO msg=\"member joined\" member=m"},
		{fairmesh.MemberAlive, true, fairmesh.MemberLeft, "level=INFO msg=\"member left\" member=m"},
		{fairmesh.MemberDead, false, fairmesh.MemberLeft, "level=INFO msg=\"member left (its leave notice came after it was taken for dead)\""},
		{fairmesh.MemberSuspect, true, fairmesh.MemberDead, "level=WARN msg=\"member died: unreachable\" member=m"},
		{fairmesh.MemberAlive, true, fairmesh.MemberSuspect, ""},
		{fairmesh.MemberSuspect, true, fairmesh.MemberAlive, ""},
	} {
		var buf bytes.Buffer
		logMemberChange(slog.New(slog.NewTextHandler(&buf, nil)), "m", tc.was, tc.present, tc.now)
		got := buf.String()
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%v (present %v) → %v: logged %q, want %q", tc.was, tc.present, tc.now, got, tc.want)
		}
	}
}
