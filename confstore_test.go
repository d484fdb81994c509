package fairmesh_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/crdt"
	"github.com/fairmesh/fairmesh/internal/testids"
)

// stamp is a register stamp d after epoch.
func stamp(d time.Duration) crdt.Timestamp {
	return crdt.Timestamp{WallTime: epoch.Add(d).UnixNano()}
}

func weightReg(id string, w int, at time.Duration, node string) fairmesh.ConfigRegister {
	return fairmesh.ConfigRegister{ClientID: id, Kind: fairmesh.ConfigWeight, Weight: w, Stamp: stamp(at), Node: node}
}

func limitReg(id string, rate int, period, at time.Duration, node string) fairmesh.ConfigRegister {
	return fairmesh.ConfigRegister{ClientID: id, Kind: fairmesh.ConfigLimit, Rate: rate, Period: period, Stamp: stamp(at), Node: node}
}

func TestConfigFileRoundTripKeepsValuesAndStamps(t *testing.T) {
	a, clk := newNode(t, fairmesh.Config{NodeID: "a"})
	require.NoError(t, a.UpdateClientWeight("gold", 3))
	require.NoError(t, a.UpdateClientRateLimit("gold", 7, 2*time.Second))
	clk.Advance(time.Millisecond)
	require.NoError(t, a.UpdateClientWeight("<silver & co>", 0))
	require.NoError(t, a.UpdateClientRateLimit("ünïcode ✓", 1, time.Minute))
	saved := a.ConfigRegisters()
	require.Len(t, saved, 4)

	data, err := fairmesh.EncodeConfigFile(saved)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"client":"<silver & co>"`, "readable: no HTML escapes")
	back, err := fairmesh.DecodeConfigFile(data)
	require.NoError(t, err)
	require.Equal(t, saved, back, "values, stamps and nodes are kept")
	again, err := fairmesh.EncodeConfigFile(back)
	require.NoError(t, err)
	assert.Equal(t, string(data), string(again), "the encoding is deterministic")

	// A node started 100ms behind a's clock (within MaxClockOffset) takes
	// them as they were written, and they bind its decisions.
	b, bclk := newNode(t, fairmesh.Config{NodeID: "b"})
	bclk.Set(epoch.Add(-100 * time.Millisecond))
	require.NoError(t, b.MergeConfigRegisters(back))
	require.Equal(t, saved, b.ConfigRegisters())
	admitted := 0
	for range 20 {
		if b.Allow("gold") {
			admitted++
		}
	}
	assert.Equal(t, 7, admitted, "the loaded limit applies")

	// Its clock moved past the loaded stamps: a local update made at an
	// earlier clock reading still wins over them.
	require.NoError(t, b.UpdateClientWeight("gold", 5))
	was, now := find(t, saved, "gold", fairmesh.ConfigWeight), find(t, b.ConfigRegisters(), "gold", fairmesh.ConfigWeight)
	assert.Equal(t, 5, now.Weight)
	assert.Equal(t, "b", now.Node)
	assert.True(t, was.Stamp.Less(now.Stamp))
}

func find(t *testing.T, rs []fairmesh.ConfigRegister, id string, k fairmesh.ConfigKind) fairmesh.ConfigRegister {
	t.Helper()
	for _, r := range rs {
		if r.ClientID == id && r.Kind == k {
			return r
		}
	}
	t.Fatalf("no %s register of %q in %+v", k, id, rs)
	return fairmesh.ConfigRegister{}
}

func TestMergeConfigRegistersLastWriterWins(t *testing.T) {
	n, clk := newNode(t, fairmesh.Config{NodeID: "n"})
	clk.Advance(10 * time.Second)
	require.NoError(t, n.UpdateClientWeight("kept", 4))                     // stamped epoch+10s
	require.NoError(t, n.UpdateClientRateLimit("replaced", 9, time.Second)) // epoch+10s
	v := n.ConfigVersion()

	file := []fairmesh.ConfigRegister{
		weightReg("kept", 1, 5*time.Second, "z"),                          // older: loses
		limitReg("replaced", 2, time.Second, 10500*time.Millisecond, "a"), // newer: wins
		weightReg("new", 6, time.Second, "a"),                             // unknown before
	}
	require.NoError(t, n.MergeConfigRegisters(file))
	got := n.ConfigRegisters()
	require.Len(t, got, 3)
	assert.Equal(t, "kept", got[0].ClientID)
	assert.Equal(t, 4, got[0].Weight, "the node's newer register stays")
	assert.Equal(t, "n", got[0].Node)
	assert.Equal(t, file[2], got[1])
	assert.Equal(t, file[1], got[2], "the file's newer register replaces the node's")
	assert.Greater(t, n.ConfigVersion(), v)

	// Merging the same again changes nothing, and the version says so.
	v = n.ConfigVersion()
	require.NoError(t, n.MergeConfigRegisters(file))
	assert.Equal(t, v, n.ConfigVersion())
	assert.Equal(t, got, n.ConfigRegisters())
}

func TestConfigVersionCountsChanges(t *testing.T) {
	n, _ := newNode(t, fairmesh.Config{})
	assert.Zero(t, n.ConfigVersion())
	require.NoError(t, n.UpdateClientWeight("a", 2))
	v1 := n.ConfigVersion()
	assert.Positive(t, v1)
	require.Error(t, n.UpdateClientWeight("a", -1))
	n.Allow("a")
	assert.Equal(t, v1, n.ConfigVersion(), "a refused update and a decision change nothing")
	require.NoError(t, n.UpdateClientRateLimit("a", 1, time.Second))
	assert.Greater(t, n.ConfigVersion(), v1)
}

// A register merged from the mesh counts as a change: the runtime saves
// what others set too. And the loaded registers go out to the mesh.
func TestConfigVersionCountsMergesFromTheMesh(t *testing.T) {
	a, clk := newNode(t, fairmesh.Config{NodeID: "a"})
	b, _ := newNode(t, fairmesh.Config{NodeID: "b"})
	a.SetMember("b", fairmesh.MemberAlive)
	a.Tick(clk.Now()) // b's full state goes out now, before the merge
	require.NoError(t, a.MergeConfigRegisters([]fairmesh.ConfigRegister{weightReg("gold", 2, 0, "z")}))
	clk.Advance(100 * time.Millisecond)
	deliver := func() {
		for _, m := range a.Tick(clk.Now()) {
			require.NoError(t, b.Receive("a", m.Payload))
		}
	}
	deliver()
	assert.Equal(t, a.ConfigRegisters(), b.ConfigRegisters(), "the next tick carried the loaded register")
	v := b.ConfigVersion()
	assert.Positive(t, v)
	deliver() // a sends each change twice
	assert.Equal(t, v, b.ConfigVersion(), "the same registers again change nothing")
}

func TestMergeConfigRegistersRefusesAllOnOneBad(t *testing.T) {
	victim := "victim"
	good := weightReg("ok", 2, 0, "a")
	for _, tc := range []struct {
		name string
		bad  fairmesh.ConfigRegister
		cfg  fairmesh.Config
		want string
	}{
		{"weight out of range", weightReg("x", fairmesh.MaxWeight+1, 0, "a"), fairmesh.Config{}, "weight"},
		{"negative rate", limitReg("x", -1, time.Second, 0, "a"), fairmesh.Config{}, "limit"},
		{"period too short", limitReg("x", 1, time.Microsecond, 0, "a"), fairmesh.Config{}, "limit"},
		{"limit with a weight", fairmesh.ConfigRegister{ClientID: "x", Kind: fairmesh.ConfigLimit, Weight: 1, Rate: 1, Period: time.Second, Stamp: stamp(0)}, fairmesh.Config{}, "weight"},
		{"empty client", weightReg("", 1, 0, "a"), fairmesh.Config{}, "empty"},
		{"long client", weightReg(strings.Repeat("x", fairmesh.MaxClientIDLen+1), 1, 0, "a"), fairmesh.Config{}, "longer"},
		{"long node", weightReg("x", 1, 0, strings.Repeat("n", fairmesh.MaxClientIDLen+1)), fairmesh.Config{}, "node ID"},
		{"zero stamp", fairmesh.ConfigRegister{ClientID: "x", Kind: fairmesh.ConfigWeight, Weight: 1}, fairmesh.Config{}, "stamp"},
		{"unknown kind", fairmesh.ConfigRegister{ClientID: "x", Kind: 9, Stamp: stamp(0)}, fairmesh.Config{}, "kind"},
		{"stamped ahead", weightReg("x", 1, time.Second, "a"), fairmesh.Config{MaxClockOffset: 500 * time.Millisecond}, "ahead"},
		{"hash collision", weightReg(testids.Colliding(victim, "evil"), 1, 0, "a"), fairmesh.Config{}, "hash"},
		{"too many clients", weightReg("x", 1, 0, "a"), fairmesh.Config{MaxClients: 2}, "MaxClients"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, _ := newNode(t, tc.cfg)
			require.NoError(t, n.UpdateClientWeight(victim, 3))
			before, v := n.ConfigRegisters(), n.ConfigVersion()
			err := n.MergeConfigRegisters([]fairmesh.ConfigRegister{good, tc.bad})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "fairmesh: "), err.Error())
			assert.Equal(t, before, n.ConfigRegisters(), "nothing merged, not even the good register")
			assert.Equal(t, v, n.ConfigVersion())
		})
	}
}

func TestDecodeConfigFileRefusesAnythingButAWholeValidFile(t *testing.T) {
	valid, err := fairmesh.EncodeConfigFile([]fairmesh.ConfigRegister{
		weightReg("gold", 2, 0, "a"), limitReg("gold", 5, time.Second, time.Millisecond, "b"),
	})
	require.NoError(t, err)
	_, err = fairmesh.DecodeConfigFile(valid)
	require.NoError(t, err)

	// A file cut anywhere, as by a crash without the atomic rename.
	body := bytes.TrimSpace(valid)
	for i := range len(body) {
		_, err := fairmesh.DecodeConfigFile(valid[:i])
		require.Error(t, err, "truncated to %d bytes: %q", i, valid[:i])
	}

	reg := `{"client":"a","kind":"weight","weight":1,"stamp_wall_ns":1,"stamp_logical":0,"node":"n"}`
	for name, data := range map[string]string{
		"not JSON":           "hello",
		"empty":              "",
		"no version":         `{"registers":[]}`,
		"version 0":          `{"version":0,"registers":[]}`,
		"version 2":          `{"version":2,"registers":[]}`,
		"fractional version": `{"version":1.5,"registers":[]}`,
		"trailing garbage":   `{"version":1,"registers":[]}x`,
		"two values":         `{"version":1,"registers":[]}{}`,
		"unknown field":      `{"version":1,"registers":[],"extra":1}`,
		"unknown reg field":  `{"version":1,"registers":[{"client":"a","kind":"weight","weight":1,"stamp_wall_ns":1,"stamp_logical":0,"node":"n","x":1}]}`,
		"weight too big":     `{"version":1,"registers":[{"client":"a","kind":"weight","weight":1000001,"stamp_wall_ns":1,"stamp_logical":0,"node":"n"}]}`,
		"no stamp":           `{"version":1,"registers":[{"client":"a","kind":"weight","weight":1,"node":"n"}]}`,
		"logical too big":    `{"version":1,"registers":[{"client":"a","kind":"weight","weight":1,"stamp_wall_ns":1,"stamp_logical":4294967296,"node":"n"}]}`,
		"weight with rate":   `{"version":1,"registers":[{"client":"a","kind":"weight","weight":1,"rate":1,"stamp_wall_ns":1,"stamp_logical":0,"node":"n"}]}`,
		"limit no period":    `{"version":1,"registers":[{"client":"a","kind":"limit","rate":1,"stamp_wall_ns":1,"stamp_logical":0,"node":"n"}]}`,
		"unknown kind":       `{"version":1,"registers":[{"client":"a","kind":"color","stamp_wall_ns":1,"stamp_logical":0,"node":"n"}]}`,
		"empty client":       `{"version":1,"registers":[{"client":"","kind":"weight","weight":1,"stamp_wall_ns":1,"stamp_logical":0,"node":"n"}]}`,
		"bad base64":         `{"version":1,"registers":[{"client":{"base64":"!"},"kind":"weight","weight":1,"stamp_wall_ns":1,"stamp_logical":0,"node":"n"}]}`,
		"duplicate":          `{"version":1,"registers":[` + reg + `,` + reg + `]}`,
		"null register":      `{"version":1,"registers":[null]}`,
		"not UTF-8":          "{\"version\":1,\"registers\":[{\"client\":\"\xff\",\"kind\":\"weight\",\"weight\":1,\"stamp_wall_ns\":1,\"stamp_logical\":0,\"node\":\"n\"}]}",
	} {
		rs, err := fairmesh.DecodeConfigFile([]byte(data))
		assert.Error(t, err, name)
		assert.Nil(t, rs, name)
		if err != nil {
			assert.True(t, strings.HasPrefix(err.Error(), "fairmesh: "), "%s: %v", name, err)
		}
	}

	// And the same register alone is fine, as is a file with none.
	rs, err := fairmesh.DecodeConfigFile([]byte(`{"version":1,"registers":[` + reg + `]}`))
	require.NoError(t, err)
	assert.Equal(t, []fairmesh.ConfigRegister{{ClientID: "a", Kind: fairmesh.ConfigWeight, Weight: 1, Stamp: crdt.Timestamp{WallTime: 1}, Node: "n"}}, rs)
	rs, err = fairmesh.DecodeConfigFile([]byte(`{"version":1,"registers":[]}`))
	require.NoError(t, err)
	assert.Empty(t, rs)
}

func TestEncodeConfigFileRefusesWhatItCouldNotReadBack(t *testing.T) {
	_, err := fairmesh.EncodeConfigFile([]fairmesh.ConfigRegister{weightReg("a", -1, 0, "n")})
	assert.Error(t, err)
	_, err = fairmesh.EncodeConfigFile([]fairmesh.ConfigRegister{limitReg("a", 0, 0, 0, "n")})
	assert.Error(t, err, "a limit of 0 per 0 is no limit (nor a deletion unless it says so)")
	_, err = fairmesh.EncodeConfigFile([]fairmesh.ConfigRegister{weightReg("bad\xffutf8", 1, 0, "n")})
	assert.ErrorContains(t, err, "UTF-8")
	_, err = fairmesh.EncodeConfigFile([]fairmesh.ConfigRegister{weightReg("a", 1, 0, "n"), weightReg("a", 2, 1, "n")})
	assert.ErrorContains(t, err, "two weight registers")
}

func FuzzDecodeConfigFile(f *testing.F) {
	seed, err := fairmesh.EncodeConfigFile([]fairmesh.ConfigRegister{
		weightReg("gold", 2, 0, "a"), limitReg("gold", 5, time.Second, time.Millisecond, "b"),
		weightReg("ünï", 0, 2*time.Millisecond, "\x00"),
		{ClientID: "gone", Kind: fairmesh.ConfigWeight, Deleted: true, Stamp: crdt.Timestamp{WallTime: 7}, Node: "c"},
		{ClientID: "gone", Kind: fairmesh.ConfigLimit, Deleted: true, Stamp: crdt.Timestamp{WallTime: 7}, Node: "c"},
	})
	require.NoError(f, err)
	f.Add(seed)
	f.Add([]byte(`{"version":1,"registers":[]}`))
	f.Add([]byte(`{"version":1,"registers":null}`))
	f.Add([]byte(`{"version":1,"registers":[{"client":{"base64":"/w=="},"kind":"limit","rate":0,"period_ns":1000000,"stamp_wall_ns":-5,"stamp_logical":4294967295,"node":""}]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add(seed[:len(seed)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := fairmesh.DecodeConfigFile(data)
		if err != nil {
			if rs != nil {
				t.Fatalf("error with a result: %v", err)
			}
			return
		}
		again, err := fairmesh.EncodeConfigFile(rs)
		if err != nil {
			t.Fatalf("decoded registers do not encode: %v", err)
		}
		back, err := fairmesh.DecodeConfigFile(again)
		if err != nil {
			t.Fatalf("re-encoded file does not decode: %v\n%s", err, again)
		}
		require.Equal(t, rs, back)
	})
}
