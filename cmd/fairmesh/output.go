package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/fairmesh/fairmesh/httpapi"
)

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

// count shows -1 (unlimited) as "unlimited".
func count(v int64) string {
	if v < 0 {
		return "unlimited"
	}
	return strconv.FormatInt(v, 10)
}

func limitOf(c httpapi.ClientConfig) string {
	if !c.Limited || c.Rate == nil {
		return "none"
	}
	return fmt.Sprintf("%d/%s", *c.Rate, c.Period)
}

func printClients(w io.Writer, cs []httpapi.Client) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "CLIENT\tWEIGHT\tLIMIT\tSTATE\tALLOWANCE\tSLICE\tADMITTED\tDENIED\tPREV ADMITTED\tPREV DENIED\tMESH DEMAND")
	for _, c := range cs {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n",
			safe(c.ID), c.Config.Weight, limitOf(c.Config), c.State, count(c.Allowance), count(c.Slice),
			c.Admitted, c.Denied, c.PrevAdmitted, c.PrevDenied, c.MeshDemand)
	}
	return tw.Flush()
}

func printAllow(w io.Writer, client string, r httpapi.AllowResult) error {
	verdict := "denied"
	if r.Allowed {
		verdict = "allowed"
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "CLIENT\tDECISION\tLIMIT\tREMAINING\tRESET")
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\n", safe(client), verdict, count(r.Limit), count(r.Remaining),
		time.Duration(r.ResetMS)*time.Millisecond)
	return tw.Flush()
}

func printStatus(w io.Writer, s httpapi.Status) error {
	tw := newTable(w)
	capacity := "none"
	if s.Capacity > 0 {
		capacity = fmt.Sprintf("%d/%s", s.Capacity, s.CapacityPeriod)
	}
	defaultLimit := "none"
	if s.DefaultRate > 0 {
		defaultLimit = fmt.Sprintf("%d/%s", s.DefaultRate, s.DefaultPeriod)
	}
	members := make([]string, 0, len(s.Members))
	for _, m := range s.Members {
		members = append(members, safe(m.ID)+" ("+m.State+")")
	}
	if len(members) == 0 {
		members = append(members, "none (a node alone)")
	}
	c := s.Counters
	for _, row := range [][2]string{
		{"node", s.NodeID},
		{"mesh time", s.Time},
		{"clock offset", s.ClockOffset},
		{"capacity", capacity},
		{"default limit", defaultLimit},
		{"default weight", strconv.Itoa(s.DefaultWeight)},
		{"min rate", fmt.Sprintf("%d/s", s.MinRate)},
		{"partition policy", s.Partition},
		{"tracked clients", fmt.Sprintf("%d of at most %d", s.TrackedClients, s.MaxClients)},
		{"members", strings.Join(members, ", ")},
		{"admitted", strconv.FormatUint(c.Admitted, 10)},
		{"denied", strconv.FormatUint(c.Denied, 10)},
		{"overflowed", strconv.FormatUint(c.Overflowed, 10)},
		{"evicted", strconv.FormatUint(c.Evicted, 10)},
		{"messages sent", fmt.Sprintf("%d (%d bytes)", c.MessagesSent, c.BytesSent)},
		{"messages received", strconv.FormatUint(c.MessagesReceived, 10)},
		{"messages dropped", strconv.FormatUint(c.DroppedMessages, 10)},
		{"reports dropped", strconv.FormatUint(c.DroppedReports, 10)},
		{"hash collisions", strconv.FormatUint(c.Collisions, 10)},
		{"clock offset rejects", strconv.FormatUint(c.ClockOffsetRejects, 10)},
		{"returned", strconv.FormatUint(c.Returned, 10)},
		{"rights lent / borrowed", fmt.Sprintf("%d / %d", c.RightsLent, c.RightsBorrowed)},
		{"gossip asked again / repaired", fmt.Sprintf("%d / %d", c.NacksSent, c.ReportsRepaired)},
		{"reservations released", strconv.FormatUint(c.Released, 10)},
	} {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
	}
	return tw.Flush()
}

func printMembers(w io.Writer, l httpapi.MemberList) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "MEMBER\tADDRESS\tSTATE\tSELF")
	for _, m := range l.Members {
		addr, self := m.Addr, ""
		if addr == "" {
			addr = "-"
		}
		if m.Self {
			self = "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", safe(m.ID), addr, m.State, self)
	}
	return tw.Flush()
}

// safe returns s as it may be printed to a terminal: unchanged when every
// rune is printable, else quoted with escapes (\x1b, \n, \ufffd…), so that
// no byte from a node (an old one may hold such IDs) can move the cursor,
// split a table row or hide itself.
func safe(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return strconv.QuoteToGraphic(s)
		}
	}
	return s
}
