package fairmesh

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/fairmesh/fairmesh/crdt"
)

// ConfigFileVersion is the version of the format EncodeConfigFile writes
// and the only one DecodeConfigFile reads.
const ConfigFileVersion = 1

// The config file is JSON, one register a line, so that an operator can
// read it and diff it:
//
//	{"version":1,"registers":[
//	{"client":"gold","kind":"weight","weight":2,"stamp_wall_ns":1700000000000000000,"stamp_logical":0,"node":"a"},
//	{"client":"gold","kind":"limit","rate":100,"period_ns":1000000000,"stamp_wall_ns":1700000000000000001,"stamp_logical":0,"node":"b"}
//	]}
//
// Stamps and periods are integers, not formatted times, so that a register
// read back is the very register written: its stamp decides LWW races.
type configFile struct {
	Version   int            `json:"version"`
	Registers []fileRegister `json:"registers"`
}

type fileRegister struct {
	Client   fileString `json:"client"`
	Kind     string     `json:"kind"`
	Weight   *int       `json:"weight,omitempty"`
	Rate     *int       `json:"rate,omitempty"`
	PeriodNS *int64     `json:"period_ns,omitempty"`
	Deleted  bool       `json:"deleted,omitempty"`
	Wall     int64      `json:"stamp_wall_ns"`
	Logical  uint32     `json:"stamp_logical"`
	Node     fileString `json:"node"`
}

// fileString is a client or node ID in the file. IDs are bytes, and JSON
// would replace invalid UTF-8 with U+FFFD, turning one client into
// another; such an ID is written as {"base64":"..."} instead.
type fileString string

func (s fileString) MarshalJSON() ([]byte, error) {
	if utf8.ValidString(string(s)) {
		return marshalNoEscape(string(s))
	}
	return marshalNoEscape(map[string]string{"base64": base64.StdEncoding.EncodeToString([]byte(s))})
}

func (s *fileString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, (*string)(s))
	}
	var o struct {
		Base64 *string `json:"base64"`
	}
	if err := strictUnmarshal(b, &o); err != nil || o.Base64 == nil {
		return errors.New("an ID is neither a string nor {\"base64\": string}")
	}
	raw, err := base64.StdEncoding.DecodeString(*o.Base64)
	if err != nil {
		return fmt.Errorf("an ID's base64: %w", err)
	}
	*s = fileString(raw)
	return nil
}

// marshalNoEscape is json.Marshal without the HTML escaping of <, > and &,
// which would only make the file harder to read.
func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// strictUnmarshal decodes exactly one JSON value into v, refusing unknown
// fields and anything after the value.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the end of the JSON value")
	}
	return nil
}

// EncodeConfigFile returns the config file holding rs, in version
// ConfigFileVersion: one register a line, sorted by client ID then kind, so
// that the same registers always encode to the same bytes. It refuses, with
// an error and no output, a register that is invalid (as
// MergeConfigRegisters would refuse it) or a second register of the same
// client and kind: whatever it writes, DecodeConfigFile reads back equal.
func EncodeConfigFile(rs []ConfigRegister) ([]byte, error) {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, compareRegisters)
	var b bytes.Buffer
	fmt.Fprintf(&b, "{\"version\":%d,\"registers\":[", ConfigFileVersion)
	for i, r := range rs {
		if err := checkRegister(rs, i); err != nil {
			return nil, err
		}
		fr := fileRegister{Client: fileString(r.ClientID), Kind: r.Kind.String(), Wall: r.Stamp.WallTime, Logical: r.Stamp.Logical, Node: fileString(r.Node)}
		switch {
		case r.Deleted:
			fr.Deleted = true
		case r.Kind == ConfigWeight:
			fr.Weight = &r.Weight
		default:
			period := int64(r.Period)
			fr.Rate, fr.PeriodNS = &r.Rate, &period
		}
		line, err := marshalNoEscape(fr)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
		b.Write(line)
	}
	b.WriteString("\n]}\n")
	return b.Bytes(), nil
}

// checkRegister validates rs[i] of sorted rs, and that it does not repeat
// rs[i-1]'s client and kind.
func checkRegister(rs []ConfigRegister, i int) error {
	r := rs[i]
	if _, err := r.wire(); err != nil {
		return fmt.Errorf("%w (config register %d, client %q)", err, i, r.ClientID)
	}
	if i > 0 && compareRegisters(rs[i-1], r) == 0 {
		return fmt.Errorf("fairmesh: client %q has two %s registers", r.ClientID, r.Kind)
	}
	return nil
}

// DecodeConfigFile parses a config file written by EncodeConfigFile and
// returns its registers sorted by client ID then kind. Anything but a
// whole, valid file of version ConfigFileVersion is an error, never a
// partial result: invalid JSON or UTF-8, a missing or other version,
// unknown fields, data after the end, a register that is invalid (as
// MergeConfigRegisters would refuse it) or has fields of the other kind,
// or two registers of the same client and kind. Registers that are valid
// alone may still be refused by MergeConfigRegisters (a hash collision, a
// stamp ahead of the clock, too many clients).
func DecodeConfigFile(data []byte) ([]ConfigRegister, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("fairmesh: config file is not valid UTF-8")
	}
	var f configFile
	if err := strictUnmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("fairmesh: config file: %w", err)
	}
	if f.Version != ConfigFileVersion {
		return nil, fmt.Errorf("fairmesh: config file has version %d; this fairmesh reads version %d", f.Version, ConfigFileVersion)
	}
	rs := make([]ConfigRegister, len(f.Registers))
	for i, fr := range f.Registers {
		r, err := fr.register()
		if err != nil {
			return nil, fmt.Errorf("%w (config register %d, client %q)", err, i, string(fr.Client))
		}
		rs[i] = r
	}
	slices.SortFunc(rs, compareRegisters)
	for i := range rs {
		if err := checkRegister(rs, i); err != nil {
			return nil, err
		}
	}
	return rs, nil
}

// register converts fr, refusing the fields of the other kind: a weight
// with a rate is no register this package wrote.
func (fr fileRegister) register() (ConfigRegister, error) {
	r := ConfigRegister{ClientID: string(fr.Client), Stamp: crdt.Timestamp{WallTime: fr.Wall, Logical: fr.Logical}, Node: string(fr.Node)}
	if fr.Deleted {
		if fr.Weight != nil || fr.Rate != nil || fr.PeriodNS != nil {
			return r, errors.New("fairmesh: a deleted register has no \"weight\", \"rate\" or \"period_ns\"")
		}
		switch fr.Kind {
		case "weight":
			r.Kind = ConfigWeight
		case "limit":
			r.Kind = ConfigLimit
		default:
			return r, fmt.Errorf("fairmesh: unknown register kind %q", fr.Kind)
		}
		r.Deleted = true
		return r, nil
	}
	switch fr.Kind {
	case "weight":
		if fr.Weight == nil || fr.Rate != nil || fr.PeriodNS != nil {
			return r, errors.New("fairmesh: a weight register needs \"weight\" and no \"rate\" or \"period_ns\"")
		}
		r.Kind, r.Weight = ConfigWeight, *fr.Weight
	case "limit":
		if fr.Weight != nil || fr.Rate == nil || fr.PeriodNS == nil {
			return r, errors.New("fairmesh: a limit register needs \"rate\" and \"period_ns\" and no \"weight\"")
		}
		r.Kind, r.Rate, r.Period = ConfigLimit, *fr.Rate, time.Duration(*fr.PeriodNS)
	default:
		return r, fmt.Errorf("fairmesh: unknown register kind %q", fr.Kind)
	}
	return r, nil
}
